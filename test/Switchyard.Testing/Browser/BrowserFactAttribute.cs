namespace Switchyard.Testing.Browser;

/// <summary>
/// A <see cref="LinuxRootFactAttribute"/> that also needs Debian's chromium and chromium-driver. Outside CI a missing
/// browser skips the test with the reason; under CI=true nothing skips (test.sh installs both packages).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        Skip = new LinuxRootFactAttribute().Skip;
        if (Skip is null && HeadlessChromium.Missing() is { } missing && !LinuxRootFactAttribute.IsCi)
            Skip = $"Requires {missing} (set CI=true to force running).";
    }
}
