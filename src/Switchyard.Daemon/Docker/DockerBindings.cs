using System.Text.Json;

namespace Switchyard.Daemon.Docker;

/// <summary>
/// The Docker networks the driver serves, by Docker's network ID, kept in <c>docker-networks.json</c>
/// next to state.db: which Switchyard network each one is, whether it was adopted (then
/// <c>docker network rm</c> leaves it) and its checked options, so a network whose name was not yet
/// known when the daemon stopped is still made after a restart. A small file of its own rather than
/// a table: the driver is optional and the state schema stays as it is. Callers serialise access
/// (<see cref="RemoteDriver"/>'s lock); reads may come from any call, so the map has a lock of its own. Each change is written whole and renamed into place.
/// </summary>
internal sealed class DockerBindings
{
    private readonly string _path;
    private readonly Dictionary<string, DockerNetworkBinding> _byId;
    private readonly Lock _lock = new();

    public DockerBindings(string stateDirectory)
    {
        _path = Path.Combine(stateDirectory, "docker-networks.json");
        try
        {
            _byId = File.Exists(_path)
                ? JsonSerializer.Deserialize(File.ReadAllText(_path), DockerJsonContext.Default.DictionaryStringDockerNetworkBinding) ?? []
                : [];
        }
        catch (JsonException e)
        {
            throw new DaemonStartException($"cannot read {_path}: {e.Message}", e);
        }
    }

    public DockerNetworkBinding? Find(string networkId) { lock (_lock) return _byId.GetValueOrDefault(networkId); }

    public IReadOnlyList<DockerNetworkBinding> All { get { lock (_lock) return [.. _byId.Values]; } }

    public void Set(DockerNetworkBinding binding)
    {
        lock (_lock)
        {
        var before = _byId.GetValueOrDefault(binding.NetworkId);
        _byId[binding.NetworkId] = binding;
        try { Save(); }
        catch
        {
            if (before is null) _byId.Remove(binding.NetworkId); else _byId[binding.NetworkId] = before;
            throw;
        }
        }
    }

    public void Remove(string networkId)
    {
        lock (_lock)
        {
        if (!_byId.Remove(networkId, out var before)) return;
        try { Save(); }
        catch
        {
            _byId[networkId] = before;
            throw;
        }
        }
    }

    private void Save()
    {
        var temp = _path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(_byId, DockerJsonContext.Default.DictionaryStringDockerNetworkBinding));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, _path, overwrite: true);
    }
}
