using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Switchyard.Network.Telemetry;
using Switchyard.Network.Tests.Infrastructure;
using Switchyard.Network.Transports;

namespace Switchyard.Network.Tests.Transports;

/// <summary>Issue 16, finding 8b: a peer that reconnects with bad framing in a loop wrote two lines
/// per connection (connected, dropped: 68,000 warnings in five minutes). Now an endpoint writes at
/// most a burst per window and then one "suppressed N" summary; its counters still count it all.</summary>
public sealed class StreamLogFloodTests : IDisposable
{
    private const int Connections = 40;
    private readonly string _dir = Directory.CreateTempSubdirectory("yard-flood-").FullName;
    private readonly FakeTimeProvider _clock = new();
    private readonly CapturingLogger _log = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Bad_framing_in_a_loop_logs_a_burst_then_one_summary()
    {
        var path = Path.Combine(_dir, "vm.sock");
        using var transport = StreamTransport.Listen(path, 1514, _log, _clock);
        transport.Start((_, in _) => { });
        for (int i = 0; i < Connections; i++)
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(path));
            await s.SendAsync(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0 }, SocketFlags.None); // length 2^32-1
            // The daemon drops the connection: wait for its end so the next one is a new connection.
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (await s.ReceiveAsync(new byte[64], SocketFlags.None, cts.Token) > 0) { }
        }
        for (int i = 0; i < 200 && transport.Status.ProtocolErrors < Connections; i++) await Task.Delay(25);
        Assert.Equal(Connections, transport.Status.ProtocolErrors); // every one counted
        await Task.Delay(200); // the last "dropped" line comes just after the count

        int lines = _log.Lines.Count;
        Assert.Equal(LogRateLimit.DefaultBurst, lines);
        Assert.DoesNotContain(_log.Lines, l => l.Id.Id == LogEvents.TransportLogSuppressed);

        _clock.Advance(LogRateLimit.DefaultWindow);
        var summary = Assert.Single(_log.Lines, l => l.Id.Id == LogEvents.TransportLogSuppressed);
        Assert.Equal(LogLevel.Warning, summary.Level);
        // Two lines per connection (connected, dropped), the burst written, the rest summarized.
        Assert.Contains($"{2 * Connections - LogRateLimit.DefaultBurst} more log lines", summary.Text);
        Assert.Contains(path, summary.Text);
    }
}
