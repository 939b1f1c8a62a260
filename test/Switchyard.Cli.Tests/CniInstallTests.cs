using System.Text.Json;
using Switchyard.Cli.Cni;
using Switchyard.Cli.Commands;

namespace Switchyard.Cli.Tests;

/// <summary><c>yard cni install</c>: the plugin where runtimes look, and one conflist per network.</summary>
public sealed class CniInstallTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("yard-cni-");
    private string Bin => Path.Combine(_dir.FullName, "bin");
    private string Conf => Path.Combine(_dir.FullName, "net.d");

    private string FakePlugin(bool frameworkDependent)
    {
        var src = Directory.CreateDirectory(Path.Combine(_dir.FullName, frameworkDependent ? "jit" : "aot")).FullName;
        File.WriteAllText(Path.Combine(src, "switchyard"), "plugin-bytes");
        if (frameworkDependent) File.WriteAllText(Path.Combine(src, "switchyard.dll"), "");
        return Path.Combine(src, "switchyard");
    }

    private int Yard(params string[] args) => YardCommand.Build().Parse(args).Invoke();

    [Fact]
    public void The_conflist_names_the_network_the_socket_and_the_capabilities()
    {
        using var doc = JsonDocument.Parse(CniInstaller.Conflist("web", "/run/switchyard/yard.sock"));
        var root = doc.RootElement;
        Assert.Equal("1.0.0", root.GetProperty("cniVersion").GetString());
        Assert.Equal("web", root.GetProperty("name").GetString());
        var plugin = Assert.Single(root.GetProperty("plugins").EnumerateArray());
        Assert.Equal("switchyard", plugin.GetProperty("type").GetString());
        Assert.Equal("web", plugin.GetProperty("network").GetString());
        Assert.Equal("/run/switchyard/yard.sock", plugin.GetProperty("socket").GetString());
        Assert.True(plugin.GetProperty("capabilities").GetProperty("portMappings").GetBoolean());
        Assert.True(plugin.GetProperty("capabilities").GetProperty("aliases").GetBoolean());
    }

    [Fact]
    public void Install_writes_the_plugin_and_a_conflist_per_network()
    {
        string plugin = FakePlugin(frameworkDependent: false);
        Assert.Equal(0, Yard("--socket", "/tmp/x/yard.sock", "cni", "install", "--bin-dir", Bin, "--conf-dir", Conf, "--plugin", plugin, "web", "db"));
        string installed = Path.Combine(Bin, "switchyard");
        Assert.Equal("plugin-bytes", File.ReadAllText(installed));
        if (!OperatingSystem.IsWindows()) Assert.True(File.GetUnixFileMode(installed).HasFlag(UnixFileMode.OtherExecute));
        Assert.Contains("\"/tmp/x/yard.sock\"", File.ReadAllText(Path.Combine(Conf, "web.conflist")));
        Assert.True(File.Exists(Path.Combine(Conf, "db.conflist")));
        // Again: replaced in place, nothing else left behind.
        File.WriteAllText(plugin, "newer");
        Assert.Equal(0, Yard("cni", "install", "--bin-dir", Bin, "--conf-dir", Conf, "--plugin", plugin));
        Assert.Equal("newer", File.ReadAllText(installed));
        Assert.Equal(["switchyard"], Directory.GetFiles(Bin).Select(Path.GetFileName));
    }

    [Fact]
    public void A_development_build_is_installed_as_a_script_that_runs_it()
    {
        string plugin = FakePlugin(frameworkDependent: true);
        Assert.Equal(0, Yard("cni", "install", "--bin-dir", Bin, "--conf-dir", Conf, "--plugin", plugin));
        var script = File.ReadAllText(Path.Combine(Bin, "switchyard"));
        Assert.StartsWith("#!/bin/sh", script);
        Assert.Contains($"exec '{plugin}' \"$@\"", script);
    }

    [Fact]
    public void Bad_input_writes_nothing()
    {
        Assert.Equal(1, Yard("cni", "install", "--bin-dir", Bin, "--conf-dir", Conf, "--plugin", FakePlugin(false), "Bad_Name"));
        Assert.Equal(1, Yard("cni", "install", "--bin-dir", Bin, "--conf-dir", Conf, "--plugin", Path.Combine(_dir.FullName, "missing"), "web"));
        Assert.False(Directory.Exists(Conf));
        Assert.False(File.Exists(Path.Combine(Bin, "switchyard")));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
