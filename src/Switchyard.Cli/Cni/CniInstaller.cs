using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Switchyard.Cli.Cni;

/// <summary>What <c>yard cni install</c> does: puts the plugin executable <c>switchyard</c> where
/// runtimes look for CNI plugins and writes one conflist per network. Every file is written
/// beside its destination and renamed over it, so a runtime running the plugin or reading the
/// conf directory at that moment sees the old file or the new one, never half of one.</summary>
internal sealed partial class CniInstaller(string binDir, string confDir, string socketPath)
{
    public const string PluginName = "switchyard";
    public const string DefaultBinDir = "/opt/cni/bin";
    public const string DefaultConfDir = "/etc/cni/net.d";

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex NetworkName();

    /// <summary>The plugin beside this executable (the NativeAOT build publishes both into one directory).</summary>
    public static string PluginBesideSelf() => Path.Combine(AppContext.BaseDirectory, PluginName);

    /// <summary>A framework-dependent build of the plugin (an apphost with switchyard.dll beside
    /// it, as `dotnet build` makes) cannot be copied alone: it is installed as a script that runs it.</summary>
    public static bool IsFrameworkDependent(string plugin) =>
        File.Exists(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(plugin))!, PluginName + ".dll"));

    public static string? CheckNetwork(string name) =>
        NetworkName().IsMatch(name) ? null : $"invalid network name '{name}': use 1-63 lower-case letters, digits and '-'";

    /// <summary>Installs the plugin and returns the path written.</summary>
    public string InstallPlugin(string plugin)
    {
        var source = Path.GetFullPath(plugin);
        if (!File.Exists(source)) throw new ArgumentException($"the plugin {source} does not exist (build it with packaging/build-native.sh, or pass --plugin PATH)");
        Directory.CreateDirectory(binDir);
        var target = Path.Combine(binDir, PluginName);
        if (Path.GetFullPath(target) == source) return target;
        var temp = target + $".{Environment.ProcessId}.tmp";
        try
        {
            if (IsFrameworkDependent(source))
                File.WriteAllText(temp, $"#!/bin/sh\n# Switchyard's CNI plugin, a development build (JIT): the NativeAOT one starts faster.\nexec '{source.Replace("'", "'\\''")}' \"$@\"\n");
            else File.Copy(source, temp, overwrite: true);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
                    | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.Move(temp, target, overwrite: true);
        }
        finally { File.Delete(temp); }
        return target;
    }

    /// <summary>Writes CONF_DIR/NETWORK.conflist and returns its path.</summary>
    public string InstallConflist(string network)
    {
        Directory.CreateDirectory(confDir);
        var target = Path.Combine(confDir, network + ".conflist");
        var temp = target + $".{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllBytes(temp, Conflist(network, socketPath));
            File.Move(temp, target, overwrite: true);
        }
        finally { File.Delete(temp); }
        return target;
    }

    /// <summary>The conflist (CNI spec 1.0, "Network configuration lists"): one plugin, ours,
    /// declaring the portMappings and aliases capabilities so runtimes pass <c>-p</c> and
    /// <c>--network-alias</c> in runtimeConfig.</summary>
    public static byte[] Conflist(string network, string socketPath)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("cniVersion", "1.0.0");
            w.WriteString("name", network);
            w.WriteStartArray("plugins");
            w.WriteStartObject();
            w.WriteString("type", PluginName);
            w.WriteString("network", network);
            w.WriteString("socket", socketPath);
            w.WriteStartObject("capabilities");
            w.WriteBoolean("portMappings", true);
            w.WriteBoolean("aliases", true);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        buffer.Write(Encoding.UTF8.GetBytes("\n"));
        return buffer.ToArray();
    }
}
