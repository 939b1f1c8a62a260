using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Switchyard.Packets.Dns;

namespace Switchyard.Packets.Tests.Dns;

/// <summary>Runs only where dig exists, except in CI (CI=true), where a missing dig must fail the run.</summary>
public sealed class DigFactAttribute : TheoryAttribute
{
    public static readonly string? DigPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, "dig")).FirstOrDefault(File.Exists);

    public DigFactAttribute()
    {
        if (DigPath is null && Environment.GetEnvironmentVariable("CI") != "true") Skip = "dig is not installed";
    }
}

/// <summary>A UDP responder on 127.0.0.1 whose answers are built by <see cref="DnsMessageWriter"/>.</summary>
public sealed class DnsWriterResponder : IDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public DnsWriterResponder()
    {
        _loop = Task.Run(RunAsync);
    }

    public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

    private async Task RunAsync()
    {
        var buffer = new byte[4096];
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult request;
            try { request = await _udp.ReceiveAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            int length = Answer(request.Buffer, buffer);
            if (length > 0) await _udp.SendAsync(buffer.AsMemory(0, length), request.RemoteEndPoint);
        }
    }

    private static int Answer(byte[] query, byte[] buffer)
    {
        var r = new DnsMessageReader(query);
        if (!r.TryReadHeader(out var h) || h.QuestionCount != 1 || !r.TryReadQuestion(out var q)) return 0;
        bool found = true;
        var w = new DnsMessageWriter(buffer);
        var rcode = DnsName.Equals(q.Name, "missing.sy.test") ? DnsResponseCode.NXDomain : DnsResponseCode.NoError;
        w.WriteHeader(DnsHeader.CreateResponse(h, rcode));
        w.TryWriteQuestion(q);
        switch (q.Name.ToLowerInvariant(), q.Type)
        {
            case ("host.sy.test", DnsType.A):
                w.TryWriteA(q.Name, 300, [192, 0, 2, 10]);
                w.TryWriteA(q.Name, 300, [192, 0, 2, 11]);
                break;
            case ("host.sy.test", DnsType.AAAA):
                w.TryWriteAaaa(q.Name, 300, IPAddress.Parse("2001:db8::10").GetAddressBytes());
                break;
            case ("alias.sy.test", DnsType.A):
                w.TryWriteCname(q.Name, 300, "host.sy.test");
                w.TryWriteA("host.sy.test", 300, [192, 0, 2, 10]);
                break;
            case ("txt.sy.test", DnsType.TXT):
                w.TryWriteTxt(q.Name, 300, ["hello world", "second"]);
                break;
            case ("_sip._udp.sy.test", DnsType.SRV):
                w.TryWriteSrv(q.Name, 300, 10, 20, 5060, "host.sy.test");
                w.TryWriteA("host.sy.test", 300, [192, 0, 2, 10], DnsSection.Additional);
                break;
            case ("7.2.0.192.in-addr.arpa", DnsType.PTR):
                w.TryWritePtr(q.Name, 300, "ptr.sy.test");
                break;
            default:
                found = false;
                break;
        }
        if (!found)
            w.TryWriteSoa("sy.test", 60, "ns.sy.test", "hostmaster.sy.test", 1, 3600, 600, 86400, 30);
        if (DnsMessage.ClientUdpPayloadSize(query) > 512 || HasOpt(query)) w.TryWriteOpt(1232);
        return w.Finish();
    }

    private static bool HasOpt(byte[] query)
    {
        var r = new DnsMessageReader(query);
        r.TryReadHeader(out var h);
        for (int i = 0; i < h.QuestionCount; i++) r.TrySkipQuestion();
        for (int i = 0; i < h.AnswerCount + h.AuthorityCount + h.AdditionalCount; i++)
            if (r.TrySkipRecord(out var type, out _) && type == DnsType.OPT) return true;
        return false;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}

public sealed class DnsDigOracleTests(DnsWriterResponder responder) : IClassFixture<DnsWriterResponder>
{
    private string Dig(params string[] args)
    {
        Assert.NotNull(DigFactAttribute.DigPath); // in CI a missing dig fails here instead of skipping
        var psi = new ProcessStartInfo(DigFactAttribute.DigPath) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["@127.0.0.1", "-p", responder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "+tries=1", "+time=3", .. args])
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(15_000)) { p.Kill(); Assert.Fail("dig did not finish"); }
        Assert.True(p.ExitCode == 0, $"dig exit {p.ExitCode}: {output}{error}");
        return output;
    }

    [DigFact]
    [InlineData("host.sy.test", "A", "", "192.0.2.10\n192.0.2.11\n")]
    [InlineData("HOST.sy.test", "A", "+noedns", "192.0.2.10\n192.0.2.11\n")]
    [InlineData("host.sy.test", "AAAA", "", "2001:db8::10\n")]
    [InlineData("alias.sy.test", "A", "", "host.sy.test.\n192.0.2.10\n")]
    [InlineData("txt.sy.test", "TXT", "+noedns", "\"hello world\" \"second\"\n")]
    [InlineData("_sip._udp.sy.test", "SRV", "", "10 20 5060 host.sy.test.\n")]
    [InlineData("7.2.0.192.in-addr.arpa", "PTR", "", "ptr.sy.test.\n")]
    public void Dig_reads_writer_output(string name, string type, string option, string expected)
    {
        string[] args = option.Length == 0 ? [name, type, "+short"] : [name, type, "+short", option];
        Assert.Equal(expected, Dig(args));
    }

    [DigFact]
    [InlineData("missing.sy.test", "NXDOMAIN")]
    [InlineData("nodata.sy.test", "NOERROR")]
    public void Dig_reads_negative_answers_with_soa(string name, string status)
    {
        string output = Dig(name, "A");
        Assert.Contains($"status: {status}", output, StringComparison.Ordinal);
        Assert.Contains("ANSWER: 0, AUTHORITY: 1", output, StringComparison.Ordinal);
        string collapsed = string.Join(' ', output.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("sy.test. 60 IN SOA ns.sy.test. hostmaster.sy.test. 1 3600 600 86400 30", collapsed, StringComparison.Ordinal);
        Assert.DoesNotContain("WARNING", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("FORMERR", output, StringComparison.Ordinal);
    }

    [DigFact]
    [InlineData("alias.sy.test", "A")]
    [InlineData("_sip._udp.sy.test", "SRV")]
    public void Dig_full_output_has_no_format_complaints(string name, string type)
    {
        string output = Dig(name, type);
        Assert.Contains("status: NOERROR", output, StringComparison.Ordinal);
        Assert.Contains("flags: qr aa rd ra", output, StringComparison.Ordinal);
        Assert.Contains("udp: 1232", output, StringComparison.Ordinal);
        Assert.DoesNotContain("WARNING", output, StringComparison.OrdinalIgnoreCase);
    }
}
