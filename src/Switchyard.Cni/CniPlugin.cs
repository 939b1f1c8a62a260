using System.Text.Json;
using Switchyard.Client;

namespace Switchyard.Cni;

/// <summary>One invocation of the plugin (CNI spec 1.0, "Execution protocol"): reads the command
/// from the environment and the configuration from stdin, answers on stdout, and reports every
/// failure as an error object on stdout with exit code 1.</summary>
internal sealed class CniPlugin(CniEnvironment env, Func<string?, SwitchyardClient> connect)
{
    // What runtimes log of our messages reads better with quotes as quotes, not \u0027.
    private static readonly CniJsonContext Output = new(new JsonSerializerOptions(CniJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public async Task<int> RunAsync(Stream stdin, TextWriter stdout)
    {
        string version = CniVersions.Latest;
        try
        {
            string command = CniEnvironment.Require(env.Command, "CNI_COMMAND");
            var input = await ReadAllAsync(stdin);
            if (command == "VERSION")
            {
                // VERSION's stdin carries only cniVersion, and may be empty.
                var asked = input.Length == 0 ? null : Parse(input).CniVersion;
                Write(stdout, new CniVersionResult { CniVersion = CniVersions.IsSupported(asked) ? asked! : CniVersions.Latest, SupportedVersions = CniVersions.Supported },
                    Output.CniVersionResult);
                return 0;
            }
            var conf = Parse(input);
            if (!CniVersions.IsSupported(conf.CniVersion))
                throw new CniException(CniErrors.IncompatibleVersion, $"unsupported cniVersion '{conf.CniVersion}'",
                    $"supported: {string.Join(", ", CniVersions.Supported)}");
            version = conf.CniVersion!;
            string network = conf.Network ?? conf.Name
                ?? throw new CniException(CniErrors.InvalidConfig, "the configuration names no network", "set \"network\" (or the conflist's \"name\")");
            using var client = connect(conf.Socket);
            var commands = new CniCommands(client, env, conf, network, version);
            switch (command)
            {
                case "ADD":
                    Write(stdout, await commands.AddAsync(), Output.CniResult);
                    return 0;
                case "DEL":
                    await commands.DelAsync();
                    return 0;
                case "CHECK":
                    RequireVersion(version, "0.4.0", command);
                    await commands.CheckAsync();
                    return 0;
                case "STATUS":
                    RequireVersion(version, "1.1.0", command);
                    await commands.StatusAsync();
                    return 0;
                case "GC":
                    RequireVersion(version, "1.1.0", command);
                    await commands.GcAsync();
                    return 0;
                default:
                    throw new CniException(CniErrors.InvalidEnvironment, $"unknown CNI_COMMAND '{command}'", "ADD, DEL, CHECK, VERSION, STATUS or GC");
            }
        }
        catch (CniException e)
        {
            Write(stdout, new CniError { CniVersion = version, Code = e.Code, Msg = e.Message, Details = e.Details }, Output.CniError);
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException or OperationCanceledException)
        {
            // Whatever else fails (reading a namespace, a connection cut mid-answer) is still an error object, never a stack trace.
            Write(stdout, new CniError { CniVersion = version, Code = CniErrors.IoFailure, Msg = e.Message, Details = e.GetType().Name }, Output.CniError);
            return 1;
        }
    }

    private static void RequireVersion(string version, string minimum, string command)
    {
        if (!CniVersions.AtLeast(version, minimum))
            throw new CniException(CniErrors.IncompatibleVersion, $"{command} needs cniVersion {minimum} or later", $"the configuration says {version}");
    }

    private static NetConf Parse(byte[] input)
    {
        try
        {
            return JsonSerializer.Deserialize(input, CniJsonContext.Default.NetConf)
                ?? throw new CniException(CniErrors.DecodeFailure, "the network configuration is null");
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrors.DecodeFailure, "cannot decode the network configuration", e.Message);
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream stdin)
    {
        using var buffer = new MemoryStream();
        try { await stdin.CopyToAsync(buffer); }
        catch (IOException e) { throw new CniException(CniErrors.IoFailure, "cannot read the network configuration from stdin", e.Message); }
        return buffer.ToArray();
    }

    private static void Write<T>(TextWriter stdout, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        stdout.WriteLine(JsonSerializer.Serialize(value, type));
        stdout.Flush();
    }
}
