namespace Switchyard.Client;

/// <summary>Where the daemon's API socket lives when nobody says: <c>$YARD_SOCKET</c>, else
/// /run/switchyard/yard.sock for root, else $XDG_RUNTIME_DIR/switchyard/yard.sock (or
/// /tmp/switchyard-UID/yard.sock when that is unset, as on macOS).</summary>
public static class SocketPaths
{
    public const string EnvironmentVariable = "YARD_SOCKET";

    public static string Default()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
        if (!OperatingSystem.IsWindows() && Environment.UserName == "root" && OperatingSystem.IsLinux())
            return "/run/switchyard/yard.sock";
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (!string.IsNullOrEmpty(runtime)) return Path.Combine(runtime, "switchyard", "yard.sock");
        return Path.Combine(Path.GetTempPath(), $"switchyard-{Environment.UserName}", "yard.sock");
    }
}
