namespace Switchyard.Platform.Tests;

/// <summary>The daemon's start raises RLIMIT_NOFILE's soft limit to the hard one (issue 16, the fd budget).</summary>
public sealed class OpenFileLimitTests
{
    [Fact]
    public void Raising_brings_the_soft_limit_to_the_hard_one_and_says_what_it_was()
    {
        if (!OperatingSystem.IsLinux()) return;
        var limits = OpenFileLimit.RaiseToHard();
        Assert.Equal(0, limits.Errno);
        Assert.True(limits.Before > 0 && limits.Before <= limits.Soft, $"{limits}");
        Assert.Equal(limits.Hard, limits.Soft);
        Assert.Equal(limits.Soft, OpenFileLimit.Current());
        // What the kernel says of this process agrees.
        string line = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var numbers = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(limits.Soft.ToString(), numbers[0]);
        Assert.Equal(limits.Hard.ToString(), numbers[1]);
        // A second call has nothing left to do.
        Assert.Equal(new OpenFileLimits(limits.Soft, limits.Soft, limits.Hard, 0), OpenFileLimit.RaiseToHard());
    }
}
