namespace Switchyard.Cli.Top;

/// <summary>The live view: a sample every interval, drawn in place, until q, Ctrl-C, SIGINT or
/// SIGTERM. The terminal is restored however it ends, errors included.</summary>
internal static class TopLive
{
    public static async Task RunAsync(TopSampler sampler, TimeSpan interval, TimeProvider time, CancellationToken ct)
    {
        // The first sample before the screen switches: an unknown network or an absent daemon is
        // an error on the normal screen, not a flash of the alternate one.
        var previous = await sampler.SampleAsync(ct);
        using var quit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // SIGINT and SIGTERM end the loop here rather than the process there: the terminal must
        // leave the alternate screen and show its cursor again. (The command line's own handling
        // was seen to let SIGINT kill the process before the action's cleanup ran.)
        void Quit(System.Runtime.InteropServices.PosixSignalContext context) { context.Cancel = true; quit.Cancel(); }
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Quit);
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Quit);
        var keys = WatchKeysAsync(quit);
        try
        {
            using var screen = new TopScreen(Console.Out);
            Draw(screen, null, previous);
            while (!quit.IsCancellationRequested)
            {
                await Task.Delay(interval, time, quit.Token);
                var current = await sampler.SampleAsync(quit.Token);
                Draw(screen, previous, current);
                previous = current;
            }
        }
        catch (OperationCanceledException) when (quit.IsCancellationRequested) { }
        finally
        {
            await quit.CancelAsync();
            await keys;
        }
    }

    private static void Draw(TopScreen screen, TopSample? previous, TopSample current)
    {
        var (width, height) = TopScreen.Size();
        screen.Draw(TopRenderer.Render(previous, current, width, height));
    }

    /// <summary>q quits (Ctrl-C is SIGINT, above). Polls (Console has no cancellable key read), only when stdin is a terminal.</summary>
    private static async Task WatchKeysAsync(CancellationTokenSource quit)
    {
        if (Console.IsInputRedirected) return;
        try
        {
            while (!quit.IsCancellationRequested)
            {
                while (Console.KeyAvailable)
                    if (Console.ReadKey(intercept: true).KeyChar is 'q' or 'Q')
                    {
                        await quit.CancelAsync();
                        return;
                    }
                await Task.Delay(50, quit.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (InvalidOperationException) { }   // no console after all
    }
}
