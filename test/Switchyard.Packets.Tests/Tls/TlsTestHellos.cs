using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace Switchyard.Packets.Tests.Tls;

/// <summary>Runs only where openssl exists, except in CI (CI=true), where a missing openssl must fail the run.</summary>
public sealed class OpensslFactAttribute : TheoryAttribute
{
    public static readonly string? OpensslPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, "openssl")).FirstOrDefault(File.Exists);

    public OpensslFactAttribute()
    {
        if (OpensslPath is null && Environment.GetEnvironmentVariable("CI") != "true") Skip = "openssl is not installed";
    }
}

/// <summary>ClientHellos from real TLS stacks (SslStream, openssl s_client) and hand-built ones for the
/// cases real stacks never produce.</summary>
public static class TlsTestHellos
{
    /// <summary>What .NET's SslStream writes as a client: the stream records the ClientHello and then fails
    /// the read for the ServerHello, which ends the handshake attempt.</summary>
    public static async Task<byte[]> FromSslStream(string targetHost, SslProtocols protocols = SslProtocols.None)
    {
        var capture = new WriteCaptureStream();
        using var ssl = new SslStream(capture, leaveInnerStreamOpen: true);
        var options = new SslClientAuthenticationOptions { TargetHost = targetHost, EnabledSslProtocols = protocols };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await Assert.ThrowsAnyAsync<Exception>(() => ssl.AuthenticateAsClientAsync(options, timeout.Token));
        byte[] written = capture.Written.ToArray();
        Assert.True(written.Length > 5, "SslStream wrote no ClientHello");
        return written;
    }

    /// <summary>What `openssl s_client` sends to a loopback TcpListener: everything up to the end of its
    /// first record (read by record length here, not by the parser under test).</summary>
    public static async Task<byte[]> FromOpenssl(params string[] arguments)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var psi = new ProcessStartInfo("timeout")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (string a in (string[])["15", OpensslFactAttribute.OpensslPath!, "s_client", "-connect", $"127.0.0.1:{port}", .. arguments])
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[64 * 1024];
        int have = 0;
        try
        {
            using (var client = await listener.AcceptTcpClientAsync(timeout.Token))
            {
                var stream = client.GetStream();
                while (have < buffer.Length && (have < 5 || have < 5 + BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(3))))
                {
                    int n = await stream.ReadAsync(buffer.AsMemory(have), timeout.Token);
                    if (n == 0) break;
                    have += n;
                }
            }
            process.StandardInput.Close();
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        Assert.True(have > 5, $"openssl sent no ClientHello: {await stdout} {await stderr}");
        return buffer[..have];
    }

    /// <summary>The handshake bytes (header included) of a ClientHello sent in a single record.</summary>
    public static byte[] HandshakeOf(byte[] singleRecord)
    {
        int length = BinaryPrimitives.ReadUInt16BigEndian(singleRecord.AsSpan(3));
        Assert.Equal(0x16, singleRecord[0]);
        Assert.True(singleRecord.Length >= 5 + length);
        int handshakeLength = 4 + ((singleRecord[6] << 16) | (singleRecord[7] << 8) | singleRecord[8]);
        Assert.Equal(length, handshakeLength); // one message, one record
        return singleRecord[5..(5 + length)];
    }

    /// <summary>Frames handshake bytes into records cut at <paramref name="cuts"/> (ascending offsets).</summary>
    public static byte[] Records(byte[] handshake, params int[] cuts)
    {
        var output = new List<byte>();
        int start = 0;
        foreach (int end in cuts.Append(handshake.Length))
        {
            output.AddRange([0x16, 0x03, 0x01, (byte)((end - start) >> 8), (byte)(end - start)]);
            output.AddRange(handshake[start..end]);
            start = end;
        }
        return [.. output];
    }

    /// <summary>RFC 8446 §4.1.2 ClientHello body with the given extensions (null: no extensions block).</summary>
    public static byte[] Body(IEnumerable<(ushort Type, byte[] Data)>? extensions, int sessionIdLength = 32)
    {
        var b = new List<byte> { 0x03, 0x03 };
        b.AddRange(Enumerable.Range(0, 32).Select(i => (byte)i)); // random
        b.Add((byte)sessionIdLength);
        b.AddRange(new byte[sessionIdLength]);
        b.AddRange([0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0xC0, 0x2F]); // cipher_suites
        b.AddRange([0x01, 0x00]); // compression: null
        if (extensions is not null)
        {
            var e = new List<byte>();
            foreach (var (type, data) in extensions)
            {
                e.AddRange([(byte)(type >> 8), (byte)type, (byte)(data.Length >> 8), (byte)data.Length]);
                e.AddRange(data);
            }
            b.AddRange([(byte)(e.Count >> 8), (byte)e.Count]);
            b.AddRange(e);
        }
        return [.. b];
    }

    /// <summary>RFC 6066 §3 server_name extension data holding the given (name_type, name) entries.</summary>
    public static byte[] ServerNameList(params (byte Type, byte[] Name)[] names)
    {
        var list = new List<byte>();
        foreach (var (type, name) in names)
        {
            list.AddRange([type, (byte)(name.Length >> 8), (byte)name.Length]);
            list.AddRange(name);
        }
        return [(byte)(list.Count >> 8), (byte)list.Count, .. list];
    }

    public static byte[] Sni(string name) => ServerNameList((0, Encoding.ASCII.GetBytes(name)));

    /// <summary>supported_versions (43) with TLS 1.3 and 1.2, as a typical neighbour of server_name.</summary>
    public static readonly (ushort, byte[]) SupportedVersions = (43, [4, 0x03, 0x04, 0x03, 0x03]);

    public static byte[] Handshake(byte[] body, byte type = 1) =>
        [type, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];

    /// <summary>A whole single-record ClientHello with the given extensions.</summary>
    public static byte[] Hello(params (ushort Type, byte[] Data)[] extensions) => Records(Handshake(Body(extensions)));

    public static byte[] HelloFor(string name) => Hello(SupportedVersions, (0, Sni(name)));

    private sealed class WriteCaptureStream : Stream
    {
        public MemoryStream Written { get; } = new();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("capture only: no server");
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromException<int>(new IOException("capture only: no server"));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<int>(new IOException("capture only: no server"));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Written.Write(buffer, offset, count);
            return Task.CompletedTask;
        }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
    }
}
