using System.Globalization;
using System.Text.RegularExpressions;

namespace Switchyard.Testing;

/// <summary>What dig printed, beyond the answer.</summary>
public static partial class DigOutput
{
    /// <summary>dig's own ";; Query time: N msec": the wait for the answer alone, not starting dig (and
    /// `ip netns exec`) on a loaded machine, so a bound on it tells an answer from a timeout.</summary>
    public static TimeSpan QueryTime(string output)
    {
        var m = QueryTimeLine().Match(output);
        Assert.True(m.Success, $"no query time in dig's output: {output}");
        return TimeSpan.FromMilliseconds(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@";; Query time: (\d+) msec")]
    private static partial Regex QueryTimeLine();
}
