using System.Net;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text.Json;
using Switchyard.BenchRelay;
using Switchyard.Platform;

return RelayProgram.Run(args);

namespace Switchyard.BenchRelay
{
    /// <summary>Parses the command line, builds the TAP and the link, runs the relay until a signal or the peer ends it.</summary>
    internal static class RelayProgram
    {
        public static int Run(string[] args)
        {
            if (args.Length == 0 || args.Contains("-h") || args.Contains("--help"))
            {
                Console.Out.Write(RelayOptions.Help);
                return args.Length == 0 ? 2 : 0;
            }
            if (!OperatingSystem.IsLinux())
            {
                Console.Error.WriteLine("switchyard-bench-relay: Linux only (TAP devices, network namespaces)");
                return 1;
            }

            RelayOptions options;
            try
            {
                options = RelayOptions.Parse(args);
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"switchyard-bench-relay: {e.Message}");
                return 2;
            }

            try
            {
                return RunRelay(options);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                Console.Error.WriteLine($"switchyard-bench-relay: {e.Message}");
                return 1;
            }
        }

        [SupportedOSPlatform("linux")]
        private static int RunRelay(RelayOptions options)
        {
            using var relay = Build(options);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; relay.Stop("SIGTERM"); });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; relay.Stop("SIGINT"); });
            relay.Start();
            Console.Out.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["event"] = "ready",
                ["tap"] = options.TapName,
                ["netns"] = options.NetnsPath,
                ["mtu"] = options.Mtu,
                ["link"] = options.Kind.ToString().ToLowerInvariant(),
                ["target"] = options.Target,
                ["batch"] = options.Batch,
            }, RelayJson.Default.DictionaryStringObject));
            Console.Out.Flush();

            relay.Wait(Timeout.InfiniteTimeSpan);
            Console.Out.WriteLine(ExitLine(relay));
            if (relay.Failed)
            {
                Console.Error.WriteLine($"switchyard-bench-relay: {relay.Reason}");
                return 1;
            }
            return 0;
        }

        [SupportedOSPlatform("linux")]
        internal static Relay Build(RelayOptions options)
        {
            var config = options.Address is { } a ? new Ipv4Config(a, options.PrefixLength, options.Gateway) : null;
            var tap = TapDevice.Create(new TapOptions(options.TapName, options.NetnsPath, options.Mac, options.Mtu, Configure: config));
            try
            {
                var maxFrame = options.Mtu + 14;
                IFrameLink link = options.Kind switch
                {
                    LinkKind.Stream => StreamLink.Connect(options.Target, maxFrame),
                    LinkKind.Dgram => DatagramLink.ConnectUnix(options.Target, options.Bind!, maxFrame),
                    _ => DatagramLink.ConnectUdp(IPEndPoint.Parse(options.Target), IPEndPoint.Parse(options.Bind!), maxFrame),
                };
                return new Relay(tap, link, options.Batch, options.Mtu);
            }
            catch
            {
                tap.Dispose();
                throw;
            }
        }

        [SupportedOSPlatform("linux")]
        private static string ExitLine(Relay relay) => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["event"] = "exit",
            ["reason"] = relay.Reason ?? "",
            ["failed"] = relay.Failed,
            ["tapToLink"] = Counters(relay.ToLink, relay.LinkSendDropped),
            ["linkToTap"] = Counters(relay.ToTap, relay.LinkReceiveDropped),
        }, RelayJson.Default.DictionaryStringObject);

        private static Dictionary<string, object> Counters(DirectionCounters c, long linkDropped) => new()
        {
            ["frames"] = c.Frames,
            ["bytes"] = c.Bytes,
            ["batches"] = c.Batches,
            ["dropped"] = c.Dropped + linkDropped,
        };
    }
}
