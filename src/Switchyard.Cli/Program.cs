using Switchyard.Cli.Commands;

namespace Switchyard.Cli;

public static class Program
{
    public static Task<int> Main(string[] args)
    {
        var parsed = YardCommand.Build().Parse(args);
        // `yard daemon`: socket completions run on .NET's epoll/kqueue thread instead of hopping to
        // the thread pool. The NAT's callbacks never block (non-blocking I/O under a per-flow lock),
        // Kestrel still runs API handlers on the pool, and a hop per answer costs latency on every
        // request/response round trip (docs/nat.md). Not for the demo or the clients, whose code
        // blocks on processes after awaiting the API. Read once, when the socket engine starts, so it
        // is set before any socket exists; an explicit setting in the environment wins.
        if (parsed.CommandResult.Command.Name == "daemon"
            && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        return parsed.InvokeAsync();
    }
}
