using System.Collections.Frozen;
using System.Reflection;

namespace Switchyard.Daemon.Dashboard;

/// <summary>One file of the dashboard, ready to serve: its bytes, content type and a strong ETag (a hash
/// of the bytes, so it changes exactly when the daemon is upgraded with a different file).</summary>
internal sealed record DashboardAsset(string Name, ReadOnlyMemory<byte> Content, string ContentType, string ETag);

/// <summary>
/// The dashboard's files, embedded in the daemon assembly (<c>Dashboard/Assets/*</c>, logical names
/// <c>dashboard/NAME</c>) and read once at start-up: a few tens of kilobytes held in memory. Read with
/// <see cref="Assembly.GetManifestResourceStream(string)"/> rather than a file provider or static-file
/// middleware, which NativeAOT trims badly and which would look for files on disk.
/// </summary>
internal sealed class DashboardAssets
{
    internal const string ResourcePrefix = "dashboard/";
    internal const string IndexName = "index.html";

    private readonly FrozenDictionary<string, DashboardAsset> _assets;

    private DashboardAssets(FrozenDictionary<string, DashboardAsset> assets) => _assets = assets;

    public DashboardAsset Index => _assets[IndexName];

    public IEnumerable<DashboardAsset> All => _assets.Values;

    /// <summary>The asset named exactly <paramref name="name"/> (no directories: the dashboard is flat), or null.</summary>
    public DashboardAsset? Find(string name) => _assets.GetValueOrDefault(name);

    /// <summary>Loads every embedded dashboard file of the daemon assembly.</summary>
    public static DashboardAssets Load() => Load(typeof(DashboardAssets).Assembly);

    internal static DashboardAssets Load(Assembly assembly)
    {
        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            var name = resource[ResourcePrefix.Length..];
            // A file type the table does not know is a build mistake: refuse it rather than serve it
            // as something a browser might sniff.
            var type = ContentTypeOf(name)
                ?? throw new InvalidOperationException($"dashboard asset {name} has a file type the daemon does not serve");
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            assets[name] = new DashboardAsset(name, bytes, type, $"\"{Convert.ToHexStringLower(Switchyard.Packets.StableHash.Sha256(bytes).AsSpan(0, 12))}\"");
        }
        if (!assets.ContainsKey(IndexName))
            throw new InvalidOperationException($"the dashboard is not embedded in {assembly.GetName().Name} (no {ResourcePrefix}{IndexName})");
        return new DashboardAssets(assets.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>The content type of each kind of file the dashboard has; null for any other.</summary>
    internal static string? ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        // RFC 9239: text/javascript; module scripts are refused under nosniff without a JavaScript type.
        ".js" => "text/javascript; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => null,
    };
}
