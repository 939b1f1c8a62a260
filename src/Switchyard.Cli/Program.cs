using Switchyard.Cli.Commands;

namespace Switchyard.Cli;

public static class Program
{
    public static Task<int> Main(string[] args)
    {
        // Socket completions run on .NET's epoll/kqueue thread instead of hopping to the thread
        // pool: the NAT's callbacks never block (non-blocking I/O under a per-flow lock), and the
        // hop was the largest part of a request/response round trip (docs/performance.md). Read
        // once, when the socket engine starts, so it must be set before any socket exists; an
        // explicit setting in the environment wins.
        if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        return YardCommand.Build().Parse(args).InvokeAsync();
    }
}
