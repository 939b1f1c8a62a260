namespace Switchyard.Testing;

/// <summary>
/// A [Fact] that needs Linux, root and /dev/net/tun (real namespaces, real kernel). Skipped when those are missing,
/// except under CI=true, where missing privileges must fail loudly instead of silently skipping coverage.
/// xunit 2 has no dynamic skip, so the decision is made once in the constructor.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LinuxRootFactAttribute : FactAttribute
{
    public LinuxRootFactAttribute()
    {
        if (MissingRequirement() is { } reason && !IsCi)
        {
            Skip = $"Requires {reason} (set CI=true to force running).";
        }
    }

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    private static string? MissingRequirement()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "Linux";
        }
        if (!Environment.IsPrivilegedProcess)
        {
            return "root";
        }
        if (!File.Exists("/dev/net/tun"))
        {
            return "/dev/net/tun";
        }
        return null;
    }
}
