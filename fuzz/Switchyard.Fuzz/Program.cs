using SharpFuzz;
using Switchyard.Fuzz;

// Switchyard.Fuzz TARGET            under afl-fuzz: the persistent fork-server loop (SharpFuzz)
// Switchyard.Fuzz TARGET FILE...    replays inputs (a crash's, a corpus's) and reports each
// Switchyard.Fuzz --list            the target names, one a line (fuzz/run.sh reads them)
// Switchyard.Fuzz --check CORPUS    replays CORPUS/TARGET/* for every target (the seeds must pass)
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: Switchyard.Fuzz TARGET [FILE...] | --list");
    Console.Error.WriteLine("targets: " + string.Join(' ', Targets.Names));
    return args.Length == 0 ? 2 : 0;
}
if (args[0] == "--list")
{
    foreach (var name in Targets.Names) Console.WriteLine(name);
    return 0;
}
if (args[0] == "--check" && args.Length == 2)
{
    int rc = 0;
    foreach (var name in Targets.Names)
    {
        Targets.TryGet(name, out var each);
        var dir = Path.Combine(args[1], name);
        if (!Directory.Exists(dir)) { Console.Error.WriteLine($"{name}: no seeds in {dir}"); rc = 1; continue; }
        Console.Write($"{name}: ");
        rc |= Replay.Run(each, [dir]);
    }
    return rc;
}
if (!Targets.TryGet(args[0], out var target))
{
    Console.Error.WriteLine($"unknown target '{args[0]}'; targets: {string.Join(' ', Targets.Names)}");
    return 2;
}
if (args.Length > 1) return Replay.Run(target, args[1..]);

// One buffer for the whole persistent loop: the harness must not allocate per input either.
var buffer = new byte[Targets.MaxInputLength];
Fuzzer.Run(stream =>
{
    int n = 0, read;
    while (n < buffer.Length && (read = stream.Read(buffer, n, buffer.Length - n)) > 0) n += read;
    target(buffer.AsSpan(0, n));
});
return 0;
