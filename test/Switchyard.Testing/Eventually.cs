using System.Diagnostics;

namespace Switchyard.Testing;

/// <summary>Waits on real time for something a real peer or the kernel makes true (a client's
/// lease, a file event, a daemon's answer), checking every few milliseconds and returning as soon
/// as it holds. The bound is a generous deadline for a loaded machine, never the thing under test:
/// a test of how soon one of our own timers fires moves a fake clock instead
/// (Microsoft.Extensions.TimeProvider.Testing). Never sleep a fixed time and then assert. Bounds:
/// <see cref="Bounds"/>.</summary>
public static class Eventually
{
    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(20);

    /// <summary>Returns how long <paramref name="condition"/> took to hold; fails the test with
    /// <paramref name="describe"/> (the state seen last) when it did not within <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan> UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) Fail(clock.Elapsed, describe);
            await Task.Delay(Every).ConfigureAwait(false);
        }
        return clock.Elapsed;
    }

    /// <inheritdoc cref="UntilAsync(Func{bool}, TimeSpan, Func{string}?)"/>
    public static async Task<TimeSpan> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed > timeout) Fail(clock.Elapsed, describe);
            await Task.Delay(Every).ConfigureAwait(false);
        }
        return clock.Elapsed;
    }

    /// <summary>The blocking form, for tests that drive child processes synchronously.</summary>
    public static TimeSpan Until(Func<bool> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) Fail(clock.Elapsed, describe);
            Thread.Sleep(Every);
        }
        return clock.Elapsed;
    }

    private static void Fail(TimeSpan waited, Func<string>? describe) =>
        Assert.Fail($"not so after {waited.TotalSeconds:F1} s" + (describe is null ? "" : $": {describe()}"));
}
