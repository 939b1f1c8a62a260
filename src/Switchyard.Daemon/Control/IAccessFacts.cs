using Switchyard.Platform;

namespace Switchyard.Daemon.Control;

/// <summary>What <see cref="CallerPolicy"/> needs to know about the host's files and namespaces;
/// faked in tests, <see cref="HostAccessFacts"/> on a real host.</summary>
internal interface IAccessFacts
{
    /// <summary>The path with every symlink, '.' and '..' resolved; null when it does not exist.</summary>
    string? CanonicalPath(string path);
    /// <summary>Owner, group and mode of <paramref name="path"/> itself (a symlink is not followed); null when it does not exist.</summary>
    FileOwner? Stat(string path);
    /// <summary>The uids that created the user namespace owning the network namespace at
    /// <paramref name="nsPath"/> and each of its ancestors (innermost first); null with
    /// <paramref name="error"/> when it cannot be told (no such namespace, not a namespace).</summary>
    IReadOnlyList<uint>? NamespaceOwners(string nsPath, out string? error);
}

/// <summary>The real host: statx, realpath and the nsfs ioctls (Platform).</summary>
internal sealed class HostAccessFacts : IAccessFacts
{
    public string? CanonicalPath(string path) => FileOwner.CanonicalPath(path);

    public FileOwner? Stat(string path) => OperatingSystem.IsLinux() ? FileOwner.Of(path, followSymlink: false) : null;

    public IReadOnlyList<uint>? NamespaceOwners(string nsPath, out string? error)
    {
        error = null;
        if (!OperatingSystem.IsLinux())
        {
            error = "network namespaces need Linux";
            return null;
        }
        try { return Platform.NamespaceOwners.Of(nsPath); }
        catch (PlatformException e)
        {
            error = e.Message;
            return null;
        }
    }
}
