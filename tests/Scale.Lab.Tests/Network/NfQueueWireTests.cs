using Scale.Lab.Network;

namespace Scale.Lab.Tests.Network;

/// <summary>
/// The NFQUEUE netlink messages byte for byte. Netlink's own headers are in host byte order: these fixtures are
/// little-endian (x86-64, arm64); nfnetlink_queue's values are big-endian everywhere.
/// </summary>
public sealed class NfQueueWireTests
{
    [Fact]
    public void WriteConfigCommand_Bind_AsTheKernelExpects()
    {
        var buffer = new byte[256];

        var length = NfQueueWire.WriteConfigCommand(buffer, 7, 1, NfQueueWire.NFQNL_CFG_CMD_BIND);

        byte[] expected =
        [
            0x1c, 0x00, 0x00, 0x00, // nlmsg_len = 28
            0x02, 0x03,             // nlmsg_type = NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_CONFIG
            0x05, 0x00,             // nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK
            0x01, 0x00, 0x00, 0x00, // nlmsg_seq = 1
            0x00, 0x00, 0x00, 0x00, // nlmsg_pid = 0 (the kernel fills it in)
            0x00, 0x00,             // nfgen_family = AF_UNSPEC, version = NFNETLINK_V0
            0x00, 0x07,             // res_id = queue 7, big-endian
            0x08, 0x00, 0x01, 0x00, // nla_len = 8, nla_type = NFQA_CFG_CMD
            0x01, 0x00,             // command = NFQNL_CFG_CMD_BIND, _pad
            0x00, 0x02,             // pf = AF_INET, big-endian
        ];
        Assert.Equal(expected, buffer[..length]);
    }

    [Fact]
    public void WriteConfigParameters_MetaOnly_MaxLength_FailOpenAndGso_AsTheKernelExpects()
    {
        var buffer = new byte[256];

        var length = NfQueueWire.WriteConfigParameters(buffer, 7, 2, 8192, NfQueueWire.NFQA_CFG_F_FAIL_OPEN | NfQueueWire.NFQA_CFG_F_GSO);

        byte[] expected =
        [
            0x38, 0x00, 0x00, 0x00, // nlmsg_len = 56
            0x02, 0x03, 0x05, 0x00, // NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK
            0x02, 0x00, 0x00, 0x00, // nlmsg_seq = 2
            0x00, 0x00, 0x00, 0x00, // nlmsg_pid
            0x00, 0x00, 0x00, 0x07, // nfgenmsg: AF_UNSPEC, v0, queue 7
            0x09, 0x00, 0x02, 0x00, // nla_len = 9 (unpadded), NFQA_CFG_PARAMS
            0x00, 0x00, 0x00, 0x00, // copy_range = 0
            0x01,                   // copy_mode = NFQNL_COPY_META
            0x00, 0x00, 0x00,       // padding to 4
            0x08, 0x00, 0x03, 0x00, // NFQA_CFG_QUEUE_MAXLEN
            0x00, 0x00, 0x20, 0x00, // 8192, big-endian
            0x08, 0x00, 0x05, 0x00, // NFQA_CFG_FLAGS
            0x00, 0x00, 0x00, 0x05, // NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO
            0x08, 0x00, 0x04, 0x00, // NFQA_CFG_MASK
            0x00, 0x00, 0x00, 0x05, // the same bits
        ];
        Assert.Equal(expected, buffer[..length]);
    }

    [Fact]
    public void WriteVerdictBatch_AcceptUpTo42_AsTheKernelExpects()
    {
        var buffer = new byte[256];

        var length = NfQueueWire.WriteVerdictBatch(buffer, 7, 3, 42, NfQueueWire.NF_ACCEPT);

        byte[] expected =
        [
            0x20, 0x00, 0x00, 0x00, // nlmsg_len = 32
            0x03, 0x03,             // NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_VERDICT_BATCH
            0x01, 0x00,             // NLM_F_REQUEST (no acknowledgement)
            0x03, 0x00, 0x00, 0x00, // nlmsg_seq = 3
            0x00, 0x00, 0x00, 0x00, // nlmsg_pid
            0x00, 0x00, 0x00, 0x07, // nfgenmsg: AF_UNSPEC, v0, queue 7
            0x0c, 0x00, 0x02, 0x00, // nla_len = 12, NFQA_VERDICT_HDR
            0x00, 0x00, 0x00, 0x01, // verdict = NF_ACCEPT
            0x00, 0x00, 0x00, 0x2a, // id = 42: every packet up to it
        ];
        Assert.Equal(expected, buffer[..length]);
    }

    [Fact]
    public void TryReadPacketId_RecordedPacketMessage_ReadsTheId()
    {
        // Recorded: a ping reply leaving a namespace's eth0 into queue 7 bound with NFQNL_COPY_META.
        byte[] datagram =
        [
            0x28, 0x00, 0x00, 0x00, // nlmsg_len = 40
            0x00, 0x03,             // NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET
            0x00, 0x00,             // flags
            0x00, 0x00, 0x00, 0x00, // seq
            0x00, 0x00, 0x00, 0x00, // pid
            0x02, 0x00, 0x00, 0x07, // nfgenmsg: AF_INET, v0, queue 7
            0x0b, 0x00, 0x01, 0x00, // nla_len = 11, NFQA_PACKET_HDR
            0x00, 0x00, 0x00, 0x01, // packet_id = 1
            0x08, 0x00,             // hw_protocol = IPv4
            0x03,                   // hook = NF_INET_LOCAL_OUT
            0x00,                   // padding
            0x08, 0x00, 0x06, 0x00, // nla_len = 8, NFQA_IFINDEX_OUTDEV
            0x00, 0x00, 0x00, 0x02, // ifindex 2
        ];
        var offset = 0;

        Assert.True(NfQueueWire.TryReadMessage(datagram, ref offset, out var type, out var payload));
        Assert.Equal(NfQueueWire.MessageType(NfQueueWire.NFQNL_MSG_PACKET), type);
        Assert.True(NfQueueWire.TryReadPacketId(payload, out var id));
        Assert.Equal(1u, id);
        Assert.Equal(datagram.Length, offset);
        Assert.False(NfQueueWire.TryReadMessage(datagram, ref offset, out _, out _));
    }

    [Fact]
    public void ReadError_RecordedAcknowledgement_Zero_AndEinval_Negative()
    {
        // Recorded: NLMSG_ERROR answers (NLM_F_CAPPED) to a bind, then to a truncated configuration message.
        byte[] datagram =
        [
            0x24, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0xf6, 0x5b, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, // error = 0: acknowledged
            0x1c, 0x00, 0x00, 0x00, 0x02, 0x03, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x24, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0xf6, 0x5b, 0x00, 0x00,
            0xea, 0xff, 0xff, 0xff, // error = -22 (EINVAL)
            0x34, 0x00, 0x00, 0x00, 0x02, 0x03, 0x05, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        var offset = 0;
        var errors = new List<int>();

        while (NfQueueWire.TryReadMessage(datagram, ref offset, out var type, out var payload))
        {
            Assert.Equal(NfQueueWire.NLMSG_ERROR, type);
            errors.Add(NfQueueWire.ReadError(payload));
        }

        Assert.Equal([0, -22], errors);
    }

    [Theory]
    [InlineData(new byte[] { 0x28, 0x00, 0x00, 0x00, 0x00, 0x03 })]                                                          // shorter than a header
    [InlineData(new byte[] { 0xff, 0x00, 0x00, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]                           // longer than the datagram
    [InlineData(new byte[] { 0x04, 0x00, 0x00, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]                           // shorter than its own header
    public void TryReadMessage_Malformed_False(byte[] datagram)
    {
        var offset = 0;

        Assert.False(NfQueueWire.TryReadMessage(datagram, ref offset, out _, out _));
    }

    [Fact]
    public void TryReadPacketId_NoPacketHeader_OrBadAttributeLength_False()
    {
        byte[] withoutHeader = [0x02, 0x00, 0x00, 0x07, 0x08, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x02];
        byte[] badLength = [0x02, 0x00, 0x00, 0x07, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01];

        Assert.False(NfQueueWire.TryReadPacketId(withoutHeader, out _));
        Assert.False(NfQueueWire.TryReadPacketId(badLength, out _));
    }
}
