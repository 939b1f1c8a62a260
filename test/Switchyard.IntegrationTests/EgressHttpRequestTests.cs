using System.Text;
using Switchyard.Testing;
using static Switchyard.IntegrationTests.EgressExpect;

namespace Switchyard.IntegrationTests;

/// <summary>
/// Issue 16, finding 7: on a plaintext HTTP/1.x flow allowed by name every request is checked, not just the first.
/// A recording listener on the allowed address (in the <see cref="EgressWorld"/>'s namespace) prints what each
/// connection delivered; a python client in the guest sends raw requests. Before the fix the listener got the
/// pipelined request for the blocked name, and the absolute-form request with a blocked Host.
/// </summary>
public sealed class EgressHttpRequestTests
{
    private const string Allowed = EgressWorld.AllowedName;
    private const string Blocked = EgressWorld.BlockedName;
    private const int Port = 8080;

    /// <summary>Accepts on ADDRESS:PORT and prints, when each connection ends (FIN or reset), one line:
    /// "conn BASE64-OF-EVERYTHING-RECEIVED". It never answers, so nothing but our refusal ends a connection early.</summary>
    private const string RecorderScript = """
        import base64, socket, sys, threading
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((sys.argv[1], int(sys.argv[2])))
        s.listen(16)
        print("listening", flush=True)
        def serve(c):
            data = b""
            try:
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    data += b
            except OSError:
                pass
            print("conn " + base64.b64encode(data).decode(), flush=True)
            c.close()
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
        """;

    /// <summary>Connects to ADDRESS PORT, sends BASE64's bytes in one write, and prints how the connection ended:
    /// "reset", "eof" or "timeout" (5 s without either).</summary>
    private const string ClientScript = """
        import base64, socket, sys
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
        s.sendall(base64.b64decode(sys.argv[3]))
        try:
            while s.recv(65536):
                pass
            print("eof")
        except ConnectionResetError:
            print("reset")
        except socket.timeout:
            print("timeout")
        """;

    private static ChildProcess StartRecorder(EgressLan lan)
    {
        var recorder = lan.World.Namespace.StartServer("python3", "-c", RecorderScript, lan.World.AllowedAddress, Port.ToString());
        Eventually.Until(() => recorder.Output.Contains("listening", StringComparison.Ordinal) || recorder.HasExited, Bounds.Generous,
            () => $"recorder: {recorder.Output}");
        recorder.ThrowIfExited();
        return recorder;
    }

    private static string Send(EgressLan lan, string request)
    {
        var r = lan.Run(30_000, "python3", "-c", ClientScript, lan.World.AllowedAddress, Port.ToString(),
            Convert.ToBase64String(Encoding.ASCII.GetBytes(request)));
        Assert.True(r.ExitCode == 0, $"client: {r.StdOut} {r.StdErr}");
        return r.StdOut.Trim();
    }

    /// <summary>What the recorder's connections delivered, once <paramref name="count"/> of them ended.</summary>
    private static List<string> Delivered(ChildProcess recorder, int count)
    {
        static List<string> Parse(string output) => [.. output.Split('\n')
            .Where(l => l.StartsWith("conn ", StringComparison.Ordinal))
            .Select(l => Encoding.ASCII.GetString(Convert.FromBase64String(l[5..].Trim())))];
        Eventually.Until(() => Parse(recorder.Output).Count >= count, TimeSpan.FromSeconds(20), () => $"recorder: {recorder.Output}");
        return Parse(recorder.Output);
    }

    [LinuxRootFact]
    public async Task A_pipelined_request_for_a_blocked_name_is_not_delivered_and_the_flow_is_reset()
    {
        await using var lan = await EgressLan.StartAsync([Allowed]);
        var w = lan.World;
        Assert.Equal(w.AllowedAddress, lan.Resolve(Allowed));
        using var recorder = StartRecorder(lan);

        string first = $"GET /first HTTP/1.1\r\nHost: {Allowed}\r\n\r\n";
        string second = $"GET /second HTTP/1.1\r\nHost: {Blocked}\r\n\r\n";
        Assert.Equal("reset", Send(lan, first + second));

        var delivered = Assert.Single(Delivered(recorder, 1));
        Assert.Equal(first, delivered);   // the allowed request whole, nothing of the blocked one
        var e = await LoggedAsync(lan.Client, lan.Net.Name, Deny, "tcp", Destination(w.AllowedAddress, Port), name: Blocked, reasons: HostMismatch);
        Assert.Equal("inside", e.Endpoint);
        var ep = await lan.Guest.RefreshAsync();
        Assert.True(ep.EgressDecisions?.Denied >= 1, $"denied {ep.EgressDecisions?.Denied}");
    }

    [LinuxRootFact]
    public async Task An_absolute_form_target_that_disagrees_with_host_is_refused()
    {
        await using var lan = await EgressLan.StartAsync([Allowed]);
        var w = lan.World;
        Assert.Equal(w.AllowedAddress, lan.Resolve(Allowed));
        using var recorder = StartRecorder(lan);

        Assert.Equal("reset", Send(lan, $"GET http://{Allowed}/ HTTP/1.1\r\nHost: {Blocked}\r\n\r\n"));
        Assert.Equal("", Assert.Single(Delivered(recorder, 1)));
        await LoggedAsync(lan.Client, lan.Net.Name, Deny, "tcp", Destination(w.AllowedAddress, Port), name: Allowed, reasons: AuthorityMismatch);

        // A body that holds a request line is a body, not a request; the pipelined request after it is checked.
        string body = $"GET / HTTP/1.1\r\nHost: {Blocked}\r\n\r\n";
        string post = $"POST /form HTTP/1.1\r\nHost: {Allowed}\r\nContent-Length: {body.Length}\r\n\r\n" + body;
        string next = $"GET http://{Allowed}/next HTTP/1.1\r\nHost: {Allowed}\r\n\r\n";
        Assert.Equal("timeout", Send(lan, post + next));   // allowed: the silent listener keeps it open
        Assert.Equal(post + next, Delivered(recorder, 2)[1]);
    }

    [LinuxRootFact]
    public async Task Requests_smuggled_past_the_framing_are_refused()
    {
        await using var lan = await EgressLan.StartAsync([Allowed]);
        var w = lan.World;
        Assert.Equal(w.AllowedAddress, lan.Resolve(Allowed));
        using var recorder = StartRecorder(lan);

        // Transfer-Encoding and Content-Length together (RFC 9112 §6.1): the classic request-smuggling head.
        Assert.Equal("reset", Send(lan, $"POST / HTTP/1.1\r\nHost: {Allowed}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
        await LoggedAsync(lan.Client, lan.Net.Name, Deny, "tcp", Destination(w.AllowedAddress, Port), reasons: BadFraming);
        // Empty lines before the request line (RFC 9112 §2.2): servers skip them, so must we.
        Assert.Equal("reset", Send(lan, $"\r\n\r\nGET / HTTP/1.1\r\nHost: {Blocked}\r\n\r\n"));
        Assert.All(Delivered(recorder, 2), d => Assert.Equal("", d));
    }

    [LinuxRootFact]
    public async Task Keep_alive_requests_to_the_allowed_name_all_work()
    {
        await using var lan = await EgressLan.StartAsync([Allowed]);
        var w = lan.World;
        // curl reuses one connection for both URLs (nginx keeps it alive): the second request is checked and passes.
        var r = lan.Curl(w.Url(Allowed, tls: false, path: "one"), w.Url(Allowed, tls: false, path: "two"));
        Assert.True(r.Ok, r.ToString());
        Assert.Equal(w.Body(Allowed) + w.Body(Allowed), r.Body);
    }
}
