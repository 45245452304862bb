using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Scale.Lab.Network.NfQueueWire;

namespace Scale.Lab.Network;

/// <summary>The kernel cannot queue packets to this program (no nfnetlink_queue, or not allowed), with why.</summary>
public sealed class NfQueueUnavailableException(string message) : Exception(message);

/// <summary>
/// One netfilter packet queue bound to this process over a netlink socket (NETLINK_NETFILTER): packets that an
/// iptables <c>NFQUEUE</c> rule sends to the queue arrive here as ids (metadata only, no bytes) and wait in the
/// kernel until <see cref="Accept"/> lets them go. Closing the socket unbinds the queue; with the rule's
/// <c>--queue-bypass</c>, packets then pass untouched.
/// </summary>
/// <remarks>
/// .NET's <see cref="Socket"/> cannot create an AF_NETLINK socket, but it can wrap one: socket(2) is the only native
/// call, everything else (send, receive, poll, options) is the managed socket's. Sending without an address goes to
/// the kernel (port id 0) and binds the socket to a port id of its own on the first send.
/// </remarks>
internal sealed class NfQueueSocket : IDisposable
{
    /// <summary>Packets the kernel keeps for the queue; more are accepted at once (fail open), not dropped.</summary>
    public const uint MaxQueued = 8192;

    // One packet message with metadata only is ~100 bytes; a kernel socket buffer counts each as ~1 KB of skb. 8 MB
    // holds the whole queue's messages (root may exceed net.core.rmem_max with SO_RCVBUFFORCE).
    private const int ReceiveBuffer = 8 << 20;

    private readonly Socket _socket;
    private readonly ushort _queue;
    private readonly byte[] _send = new byte[256];
    private uint _sequence;

    private NfQueueSocket(Socket socket, ushort queue)
    {
        _socket = socket;
        _queue = queue;
    }

    public ushort Queue => _queue;

    /// <summary>Binds <paramref name="queue"/> in this process's network namespace, metadata only, failing open.</summary>
    public static NfQueueSocket Open(ushort queue)
    {
        var fd = NativeMethods.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new NfQueueUnavailableException($"no netfilter netlink socket on this kernel ({Marshal.GetPInvokeErrorMessage(errno)})");
        }

        var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        var result = new NfQueueSocket(socket, queue);
        try
        {
            try
            {
                socket.SetRawSocketOption(SOL_SOCKET, SO_RCVBUFFORCE, BitConverter.GetBytes(ReceiveBuffer));
            }
            catch (SocketException)
            {
                socket.SetRawSocketOption(SOL_SOCKET, SO_RCVBUF, BitConverter.GetBytes(ReceiveBuffer));
            }

            // A full socket buffer loses messages (those packets wait until a later batch verdict covers their ids)
            // instead of failing the next receive with ENOBUFS.
            socket.SetRawSocketOption(SOL_NETLINK, NETLINK_NO_ENOBUFS, BitConverter.GetBytes(1));

            result.Request(WriteConfigCommand(result._send, queue, ++result._sequence, NFQNL_CFG_CMD_BIND), "bind");
            result.Request(WriteConfigParameters(result._send, queue, ++result._sequence, MaxQueued, NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO), "configure");
            socket.Blocking = false;
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> (rounded up to a millisecond) for a message; true when one is there.</summary>
    public bool WaitReadable(TimeSpan timeout) => _socket.Poll(timeout, SelectMode.SelectRead);

    /// <summary>
    /// Reads every message waiting (without blocking) and calls <paramref name="onPacket"/> with each packet id, in
    /// the order the kernel queued them. Returns how many.
    /// </summary>
    public int Drain(byte[] buffer, Action<uint> onPacket)
    {
        var packets = 0;
        while (true)
        {
            var received = _socket.Receive(buffer, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return packets;
            }

            if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }

            var offset = 0;
            while (TryReadMessage(buffer.AsSpan(0, received), ref offset, out var type, out var payload))
            {
                if (type == MessageType(NFQNL_MSG_PACKET) && TryReadPacketId(payload, out var id))
                {
                    onPacket(id);
                    packets++;
                }
            }
        }
    }

    /// <summary>Lets every packet up to <paramref name="id"/> (and all queued before it) go on.</summary>
    public void Accept(uint id)
    {
        var length = WriteVerdictBatch(_send, _queue, ++_sequence, id, NF_ACCEPT);
        _socket.Send(_send.AsSpan(0, length));
    }

    public void Dispose() => _socket.Dispose();

    // Sends a configuration message and waits for its acknowledgement (the socket is still blocking).
    private void Request(int length, string what)
    {
        _socket.Send(_send.AsSpan(0, length));
        var buffer = new byte[8192];
        _socket.ReceiveTimeout = 5000;
        while (true)
        {
            var received = _socket.Receive(buffer);
            var offset = 0;
            while (TryReadMessage(buffer.AsSpan(0, received), ref offset, out var type, out var payload))
            {
                if (type != NLMSG_ERROR)
                {
                    continue;
                }

                var error = ReadError(payload);
                if (error == 0)
                {
                    return;
                }

                var message = Marshal.GetPInvokeErrorMessage(-error);
                throw -error switch
                {
                    // EBUSY: another process holds the queue in this namespace.
                    16 => new InvalidOperationException($"NFQUEUE {_queue}: {what}: {message} (another delay line holds this queue in this network namespace)"),
                    // EPERM, EOPNOTSUPP/EPROTONOSUPPORT/EAFNOSUPPORT (no nfnetlink_queue).
                    1 or 93 or 95 or 97 => new NfQueueUnavailableException($"NFQUEUE {_queue}: {what}: {message}"),
                    _ => new InvalidOperationException($"NFQUEUE {_queue}: {what}: {message}"),
                };
            }
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        [System.Diagnostics.CodeAnalysis.SuppressMessage("Interoperability", "SYSLIB1054", Justification = "Only int arguments: nothing to marshal, and LibraryImport would need unsafe blocks in this project.")]
        public static extern int socket(int domain, int type, int protocol);
    }
}
