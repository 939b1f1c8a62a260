using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Switchyard.Daemon.Api;
using Switchyard.Daemon.Control;
using Switchyard.Network;

namespace Switchyard.Daemon.Tests.Control;

/// <summary>Every control operation is logged with its caller; a refusal also as a warning with the reason.</summary>
public sealed class CallerAuditTests
{
    private sealed class Captured : ILoggerProvider, ILogger
    {
        public List<(LogLevel Level, int Id, string Message)> Lines { get; } = [];
        public ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add((logLevel, eventId.Id, formatter(state, exception)));
        }
        public void Dispose() { }
    }

    private readonly Captured _log = new();

    private DefaultHttpContext Request(string method, string path, Caller? caller)
    {
        var services = new ServiceCollection().AddLogging(b => b.AddProvider(_log)).BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = method;
        context.Request.Path = path;
        context.Features.Set(new CallerFeature(caller, caller is null ? "SO_PEERCRED failed" : null));
        return context;
    }

    private static readonly Caller Member = new(1000, 1001, [2000], 4242);

    [Fact]
    public async Task A_change_is_logged_with_the_caller_and_the_outcome()
    {
        await CallerAudit.Middleware(Request("POST", "/networks", Member), c => { c.Response.StatusCode = 201; return Task.CompletedTask; });
        var line = Assert.Single(_log.Lines);
        Assert.Equal((LogLevel.Information, LogEvents.ControlRequest, "POST /networks by uid 1000 (gid 1001, pid 4242): 201"), line);
    }

    [Fact]
    public async Task A_refusal_is_a_warning_with_the_reason()
    {
        var refusal = ControlException.Forbidden("uid 1000 may not publish host port 80: ports below 1024 are the host's privileged ports");
        var thrown = await Assert.ThrowsAsync<ControlException>(() =>
            CallerAudit.Middleware(Request("POST", "/networks/n/endpoints/e/published", Member), _ => throw refusal));
        Assert.Same(refusal, thrown);   // the problem middleware still answers it (403)
        Assert.Equal(
        [
            (LogLevel.Warning, LogEvents.ControlDenied, $"Refused POST /networks/n/endpoints/e/published to uid 1000 (pid 4242): {refusal.Message}"),
            (LogLevel.Information, LogEvents.ControlRequest, "POST /networks/n/endpoints/e/published by uid 1000 (gid 1001, pid 4242): 403"),
        ], _log.Lines);
    }

    [Fact]
    public async Task Reads_are_not_logged()
    {
        await CallerAudit.Middleware(Request("GET", "/networks", Member), _ => Task.CompletedTask);
        Assert.Empty(_log.Lines);
    }

    [Fact]
    public void A_connection_without_credentials_may_change_nothing()
    {
        var e = Assert.Throws<ControlException>(() => CallerIdentity.Of(Request("DELETE", "/networks/n", null)));
        Assert.Equal(ControlError.Forbidden, e.Kind);
        Assert.Contains("credentials could not be read (SO_PEERCRED failed)", e.Message);
    }

    [Fact]
    public void The_handoff_is_logged_like_a_request()
    {
        CallerAudit.Handoff(_log, new CallerFeature(Member, null), "n", "vm", 201, null);
        Assert.Equal((LogLevel.Information, LogEvents.HandoffRequest, "fd handoff for n/vm by uid 1000 (gid 1001, pid 4242): 201"), Assert.Single(_log.Lines));
    }
}
