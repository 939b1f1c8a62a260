using Microsoft.Extensions.Logging;
using Switchyard.Daemon.Resolvers;
using Switchyard.Daemon.Planning;
using Switchyard.Daemon.State;

namespace Switchyard.Daemon.Control;

/// <summary>The control plane, built in one readable order: the registry and its gate, the data
/// plane's event writer, the collaborators per concern, and the directory in front of them. It
/// owns what it builds and disposes it in the reverse order (the store is the caller's).</summary>
internal sealed class ControlPlane : IDisposable
{
    public ControlPlane(IStateStore store, DirectoryOptions options, ILoggerFactory loggers, TimeProvider? time = null, IHostView? host = null,
        CallerPolicy? callers = null)
    {
        time ??= TimeProvider.System;
        var logger = loggers.CreateLogger(DirectoryLog.Category);
        Registry = new NetworkRegistry(options.GateTimeout);
        Events = new DataPlaneEvents(Registry, store, time, logger);
        HostResolvers = new HostResolverWatcher(options.ResolvConfPath, loggers.CreateLogger<HostResolverWatcher>());
        EgressLog = new EgressAuditLog(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(store.Path))!, "egress.log"),
            loggers.CreateLogger<EgressAuditLog>());
        var ports = new PublishedPorts(Registry, store, time, logger);
        var endpoints = new EndpointLifecycle(Registry, store, new TransportFactory(loggers), ports, time, logger);
        var remotePorts = new RemotePublishedPorts(Registry, store, time, logger);
        var networks = new NetworkLifecycle(Registry, store, endpoints, remotePorts, Events, HostResolvers, EgressLog, host ?? new HostView(), options, loggers, time);
        Directory = new NetworkDirectory(Registry, store, networks, endpoints, ports, remotePorts, new EgressPolicies(Registry, store, logger),
            callers ?? new CallerPolicy(Platform.ProcessIdentity.EffectiveUserId, new HostAccessFacts()));
    }

    public NetworkRegistry Registry { get; }
    public DataPlaneEvents Events { get; }
    public HostResolverWatcher HostResolvers { get; }
    /// <summary>Every egress decision of every network (docs/egress.md).</summary>
    public EgressAuditLog EgressLog { get; }
    public NetworkDirectory Directory { get; }

    /// <summary>The data plane stops first (no more events), then its last events are written.</summary>
    public void Dispose()
    {
        // Data plane first, then the events it reported last, then the registry they are stored against.
        Directory.StopDataPlane();
        Events.Dispose();
        Directory.Dispose();
        HostResolvers.Dispose();
        EgressLog.Dispose();
    }
}
