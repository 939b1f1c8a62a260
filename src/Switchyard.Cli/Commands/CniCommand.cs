using System.CommandLine;
using Switchyard.Cli.Cni;
using Switchyard.Cli.Top;
using Switchyard.Client;

namespace Switchyard.Cli.Commands;

/// <summary><c>yard cni install</c>: sets Switchyard up as a CNI plugin (docs/integrations.md, "CNI").</summary>
internal static class CniCommand
{
    public static Command Build()
    {
        var cni = new Command("cni", "Use Switchyard networks from CNI runtimes (containerd/nerdctl, CRI-O, Kubernetes, podman's CNI backend)");
        cni.Subcommands.Add(Install());
        return cni;
    }

    private static Command Install()
    {
        var binDir = new Option<string>("--bin-dir") { Description = "Where runtimes look for CNI plugins", DefaultValueFactory = _ => CniInstaller.DefaultBinDir };
        var confDir = new Option<string>("--conf-dir") { Description = "Where runtimes look for network configurations", DefaultValueFactory = _ => CniInstaller.DefaultConfDir };
        var plugin = new Option<string?>("--plugin") { Description = "The plugin executable to install (default: 'switchyard' beside yard, as packaging/build-native.sh builds it)" };
        var networks = new Argument<string[]>("NETWORK")
        {
            Description = "Switchyard networks to write a conflist for (CONF_DIR/NETWORK.conflist, CNI network NETWORK)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var format = Output.FormatOption();
        var cmd = new Command("install", "Install the CNI plugin 'switchyard' into --bin-dir and a conflist per NETWORK into --conf-dir; "
            + "the conflists name the daemon's socket (--socket)") { binDir, confDir, plugin, networks, format };
        cmd.SetAction(parse =>
        {
            var names = parse.GetValue(networks) ?? [];
            foreach (var n in names)
                if (CniInstaller.CheckNetwork(n) is { } error) return Output.Error(error);
            string socket = Path.GetFullPath(parse.GetValue(YardCommand.Socket) ?? SocketPaths.Default());
            var installer = new CniInstaller(parse.GetValue(binDir)!, parse.GetValue(confDir)!, socket);
            string source = parse.GetValue(plugin) ?? CniInstaller.PluginBesideSelf();
            var written = new List<string>();
            try
            {
                written.Add(installer.InstallPlugin(source));
                if (CniInstaller.IsFrameworkDependent(source))
                    Console.Error.WriteLine($"yard: {source} is a development (JIT) build: installed as a script that runs it; use packaging/build-native.sh for a plugin that starts fast");
                foreach (var n in names) written.Add(installer.InstallConflist(n));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                return Output.Error(e.Message);
            }
            if (parse.GetValue(format) == "json") Output.Json(written, CliJsonContext.Default.ListString);
            else foreach (var path in written) Console.WriteLine(path);
            return 0;
        });
        return cmd;
    }
}
