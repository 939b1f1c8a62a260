using Switchyard.Daemon.Control;
using Switchyard.Platform;

namespace Switchyard.Daemon.Tests.Control;

/// <summary>A made-up host: files with owners and modes, symlinks, and namespaces with owners.</summary>
internal sealed class FakeAccessFacts : IAccessFacts
{
    private const uint Dir = 0x4000, Sock = 0xC000, Link = 0xA000;
    private readonly Dictionary<string, FileOwner> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<uint>> _namespaces = new(StringComparer.Ordinal);

    public FakeAccessFacts()
    {
        Directory("/", 0, 0, "0755");
    }

    public FakeAccessFacts Directory(string path, uint uid, uint gid, string mode)
    {
        _files[path] = new FileOwner(uid, gid, Dir | Convert.ToUInt32(mode, 8));
        return this;
    }

    public FakeAccessFacts Socket(string path, uint uid, uint gid, string mode)
    {
        _files[path] = new FileOwner(uid, gid, Sock | Convert.ToUInt32(mode, 8));
        return this;
    }

    public FakeAccessFacts Symlink(string path, string target, uint uid)
    {
        _files[path] = new FileOwner(uid, uid, Link | 0x1FF);
        _links[path] = target;
        return this;
    }

    public FakeAccessFacts Namespace(string path, params uint[] owners)
    {
        _namespaces[path] = owners;
        return this;
    }

    public string? CanonicalPath(string path)
    {
        // Resolve component by component, as realpath(3) does.
        var resolved = "/";
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = resolved == "/" ? "/" + part : resolved + "/" + part;
            for (int hops = 0; _links.TryGetValue(next, out var target); hops++)
            {
                if (hops > 8) return null;
                next = target;
            }
            if (!_files.ContainsKey(next)) return null;
            resolved = next;
        }
        return resolved;
    }

    public FileOwner? Stat(string path) => _files.TryGetValue(path, out var o) ? o : null;

    public IReadOnlyList<uint>? NamespaceOwners(string nsPath, out string? error)
    {
        error = _namespaces.ContainsKey(nsPath) ? null : $"open({nsPath}) failed: No such file or directory";
        return _namespaces.GetValueOrDefault(nsPath);
    }
}
