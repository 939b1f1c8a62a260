using Switchyard.Cli.Commands;

namespace Switchyard.Cli;

public static class Program
{
    public static Task<int> Main(string[] args) => YardCommand.Build().Parse(args).InvokeAsync();
}
