using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Scale.Lab.Network;

/// <summary>
/// The netlink messages of netfilter's packet queue (NFQUEUE) that a delay line needs: bind a queue, ask for
/// metadata only, and accept packets by id. Constants carry their kernel header names.
/// </summary>
/// <remarks>
/// A message is a <c>struct nlmsghdr</c> (linux/netlink.h: length, type, flags, sequence, port id; host byte order),
/// then a <c>struct nfgenmsg</c> (linux/netfilter/nfnetlink.h: family, version, queue number in network byte order),
/// then attributes: each a <c>struct nlattr</c> (length without padding, type; host byte order) and a value padded
/// to 4 bytes. nfnetlink_queue's values are in network byte order (big-endian), as the kernel reads them.
/// </remarks>
internal static class NfQueueWire
{
    // linux/socket.h, linux/netlink.h, asm-generic/socket.h
    public const int AF_NETLINK = 16;
    public const int SOCK_RAW = 3;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int NETLINK_NETFILTER = 12;
    public const int SOL_SOCKET = 1;
    public const int SO_RCVBUF = 8;
    public const int SO_RCVBUFFORCE = 33;
    public const int SOL_NETLINK = 270;
    public const int NETLINK_NO_ENOBUFS = 5;

    // linux/netlink.h: struct nlmsghdr { __u32 nlmsg_len; __u16 nlmsg_type; __u16 nlmsg_flags; __u32 nlmsg_seq; __u32 nlmsg_pid; }
    public const int NlMsgHdrLength = 16;
    public const ushort NLM_F_REQUEST = 0x01;
    public const ushort NLM_F_ACK = 0x04;
    public const ushort NLMSG_NOOP = 0x1;
    public const ushort NLMSG_ERROR = 0x2;
    public const ushort NLMSG_DONE = 0x3;

    // linux/netlink.h: struct nlattr { __u16 nla_len; __u16 nla_type; }; NLA_TYPE_MASK strips NLA_F_NESTED, NLA_F_NET_BYTEORDER.
    public const int NlAttrLength = 4;
    public const ushort NLA_TYPE_MASK = 0x3fff;

    // linux/netfilter/nfnetlink.h: struct nfgenmsg { __u8 nfgen_family; __u8 version; __be16 res_id; }
    public const int NfGenMsgLength = 4;
    public const byte NFNETLINK_V0 = 0;
    public const byte AF_UNSPEC = 0;
    public const byte AF_INET = 2;
    public const int NFNL_SUBSYS_QUEUE = 3;

    // linux/netfilter/nfnetlink_queue.h: enum nfqnl_msg_types (the low byte of nlmsg_type; the high byte is the subsystem)
    public const byte NFQNL_MSG_PACKET = 0;
    public const byte NFQNL_MSG_VERDICT = 1;
    public const byte NFQNL_MSG_CONFIG = 2;
    public const byte NFQNL_MSG_VERDICT_BATCH = 3;

    // enum nfqnl_attr_type
    public const ushort NFQA_PACKET_HDR = 1;   // struct nfqnl_msg_packet_hdr { __be32 packet_id; __be16 hw_protocol; __u8 hook; } packed
    public const ushort NFQA_VERDICT_HDR = 2;  // struct nfqnl_msg_verdict_hdr { __be32 verdict; __be32 id; }

    // enum nfqnl_attr_config
    public const ushort NFQA_CFG_CMD = 1;          // struct nfqnl_msg_config_cmd { __u8 command; __u8 _pad; __be16 pf; }
    public const ushort NFQA_CFG_PARAMS = 2;       // struct nfqnl_msg_config_params { __be32 copy_range; __u8 copy_mode; } packed
    public const ushort NFQA_CFG_QUEUE_MAXLEN = 3; // __be32
    public const ushort NFQA_CFG_MASK = 4;         // __be32: which NFQA_CFG_FLAGS bits to set
    public const ushort NFQA_CFG_FLAGS = 5;        // __be32

    // enum nfqnl_msg_config_cmds
    public const byte NFQNL_CFG_CMD_BIND = 1;
    public const byte NFQNL_CFG_CMD_UNBIND = 2;

    // enum nfqnl_config_mode: NFQNL_COPY_META sends the packet's metadata (its id) without its bytes.
    public const byte NFQNL_COPY_META = 1;

    // NFQA_CFG_F_FAIL_OPEN: a full queue accepts packets instead of dropping them; NFQA_CFG_F_GSO: large (GSO)
    // packets are queued whole, not segmented first (the delay line never looks at their bytes).
    public const uint NFQA_CFG_F_FAIL_OPEN = 1 << 0;
    public const uint NFQA_CFG_F_GSO = 1 << 2;

    // linux/netfilter.h
    public const uint NF_DROP = 0;
    public const uint NF_ACCEPT = 1;

    /// <summary>nlmsg_type of an nfnetlink_queue message.</summary>
    public static ushort MessageType(byte message) => (ushort)((NFNL_SUBSYS_QUEUE << 8) | message);

    /// <summary>NFQNL_MSG_CONFIG with NFQA_CFG_CMD: bind (or unbind) <paramref name="queue"/> to this socket. Acknowledged.</summary>
    public static int WriteConfigCommand(Span<byte> buffer, ushort queue, uint sequence, byte command)
    {
        var length = WriteHeader(buffer, NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, sequence, AF_UNSPEC, queue);
        Span<byte> value = [command, 0, 0, AF_INET];
        length = WriteAttribute(buffer, length, NFQA_CFG_CMD, value);
        return Finish(buffer, length);
    }

    /// <summary>
    /// NFQNL_MSG_CONFIG with the copy mode (metadata only), the queue's length, and flags (set under their mask).
    /// Acknowledged.
    /// </summary>
    public static int WriteConfigParameters(Span<byte> buffer, ushort queue, uint sequence, uint maxLength, uint flags)
    {
        var length = WriteHeader(buffer, NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, sequence, AF_UNSPEC, queue);
        Span<byte> parameters = stackalloc byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(parameters, 0); // copy_range: no packet bytes
        parameters[4] = NFQNL_COPY_META;
        length = WriteAttribute(buffer, length, NFQA_CFG_PARAMS, parameters);
        length = WriteBigEndianAttribute(buffer, length, NFQA_CFG_QUEUE_MAXLEN, maxLength);
        length = WriteBigEndianAttribute(buffer, length, NFQA_CFG_FLAGS, flags);
        length = WriteBigEndianAttribute(buffer, length, NFQA_CFG_MASK, flags);
        return Finish(buffer, length);
    }

    /// <summary>
    /// NFQNL_MSG_VERDICT_BATCH: <paramref name="verdict"/> for every queued packet whose id is at most
    /// <paramref name="id"/> (ids grow in the order packets were queued). Not acknowledged.
    /// </summary>
    public static int WriteVerdictBatch(Span<byte> buffer, ushort queue, uint sequence, uint id, uint verdict)
    {
        var length = WriteHeader(buffer, NFQNL_MSG_VERDICT_BATCH, NLM_F_REQUEST, sequence, AF_UNSPEC, queue);
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(header, verdict);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], id);
        length = WriteAttribute(buffer, length, NFQA_VERDICT_HDR, header);
        return Finish(buffer, length);
    }

    /// <summary>
    /// The next netlink message in a datagram: its type, its payload (after the nlmsghdr) and where the following one
    /// starts. False at the end or at a malformed length.
    /// </summary>
    public static bool TryReadMessage(ReadOnlySpan<byte> datagram, ref int offset, out ushort type, out ReadOnlySpan<byte> payload)
    {
        type = 0;
        payload = default;
        if (datagram.Length - offset < NlMsgHdrLength)
        {
            return false;
        }

        var message = datagram[offset..];
        var length = (int)MemoryMarshal.Read<uint>(message);
        if (length < NlMsgHdrLength || length > message.Length)
        {
            return false;
        }

        type = MemoryMarshal.Read<ushort>(message[4..]);
        payload = message[NlMsgHdrLength..length];
        offset += Align(length);
        return true;
    }

    /// <summary>The packet id of an NFQNL_MSG_PACKET payload (its NFQA_PACKET_HDR).</summary>
    public static bool TryReadPacketId(ReadOnlySpan<byte> payload, out uint id)
    {
        id = 0;
        if (payload.Length < NfGenMsgLength)
        {
            return false;
        }

        var attributes = payload[NfGenMsgLength..];
        var offset = 0;
        while (attributes.Length - offset >= NlAttrLength)
        {
            var length = MemoryMarshal.Read<ushort>(attributes[offset..]);
            var type = (ushort)(MemoryMarshal.Read<ushort>(attributes[(offset + 2)..]) & NLA_TYPE_MASK);
            if (length < NlAttrLength || offset + length > attributes.Length)
            {
                return false;
            }

            if (type == NFQA_PACKET_HDR && length >= NlAttrLength + 4)
            {
                id = BinaryPrimitives.ReadUInt32BigEndian(attributes[(offset + NlAttrLength)..]);
                return true;
            }

            offset += Align(length);
        }

        return false;
    }

    /// <summary>The error of an NLMSG_ERROR payload: 0 for an acknowledgement, else a negative errno.</summary>
    public static int ReadError(ReadOnlySpan<byte> payload) =>
        payload.Length >= 4 ? MemoryMarshal.Read<int>(payload) : -1;

    private static int WriteHeader(Span<byte> buffer, byte message, ushort flags, uint sequence, byte family, ushort queue)
    {
        buffer[..(NlMsgHdrLength + NfGenMsgLength)].Clear();
        Host(buffer[4..], MessageType(message));
        Host(buffer[6..], flags);
        Host(buffer[8..], sequence);
        // nlmsg_pid 0: the kernel fills in this socket's port id.
        buffer[NlMsgHdrLength] = family;
        buffer[NlMsgHdrLength + 1] = NFNETLINK_V0;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(NlMsgHdrLength + 2)..], queue);
        return NlMsgHdrLength + NfGenMsgLength;
    }

    private static int WriteAttribute(Span<byte> buffer, int offset, ushort type, ReadOnlySpan<byte> value)
    {
        Host(buffer[offset..], (ushort)(NlAttrLength + value.Length));
        Host(buffer[(offset + 2)..], type);
        value.CopyTo(buffer[(offset + NlAttrLength)..]);
        var end = offset + NlAttrLength + value.Length;
        var padded = Align(end);
        buffer[end..padded].Clear();
        return padded;
    }

    private static int WriteBigEndianAttribute(Span<byte> buffer, int offset, ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return WriteAttribute(buffer, offset, type, bytes);
    }

    private static int Finish(Span<byte> buffer, int length)
    {
        Host(buffer, (uint)length);
        return length;
    }

    // Netlink's own headers are in the host's byte order.
    private static void Host(Span<byte> buffer, ushort value) => MemoryMarshal.Write(buffer, in value);

    private static void Host(Span<byte> buffer, uint value) => MemoryMarshal.Write(buffer, in value);

    // NLMSG_ALIGN and NLA_ALIGN: 4 bytes.
    private static int Align(int length) => (length + 3) & ~3;
}
