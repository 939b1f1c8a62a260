namespace Switchyard.Fuzz;

/// <summary>Runs a target on saved inputs outside AFL: to reproduce a crash with its stack trace,
/// or to check that a corpus still passes.</summary>
internal static class Replay
{
    public static int Run(Target target, IEnumerable<string> paths)
    {
        int failed = 0, count = 0;
        foreach (var path in paths.SelectMany(Expand))
        {
            count++;
            var input = File.ReadAllBytes(path);
            try { target(input.AsSpan(0, Math.Min(input.Length, Targets.MaxInputLength))); }
            catch (Exception e)
            {
                failed++;
                Console.Error.WriteLine($"{path}: {e}");
            }
        }
        Console.WriteLine($"{count} inputs, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static IEnumerable<string> Expand(string path) =>
        Directory.Exists(path) ? Directory.EnumerateFiles(path).Order(StringComparer.Ordinal) : [path];
}
