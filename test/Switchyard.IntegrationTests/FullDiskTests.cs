using System.Net;
using Switchyard.Client;
using Switchyard.Testing;

namespace Switchyard.IntegrationTests;

/// <summary>A full state directory (issue 16, finding 4) with a real guest: the daemon's state
/// lives on a small tmpfs the test mounts and fills. DHCP still answers (on the old code the lease
/// write sat on the packet path and the guest got nothing: "SQLite Error 13"), an API change is
/// refused with 507 and the reason, a restart on the full disk serves the guest again, and once
/// space returns the lease is stored and outlives a restart.</summary>
public sealed class FullDiskTests
{
    [LinuxRootFact]
    public async Task A_guest_gets_its_lease_on_a_full_disk_and_the_lease_is_stored_when_space_returns()
    {
        var daemon = await TestDaemon.StartAsync();
        string state = daemon.StateDirectory;
        bool mounted = false;
        try
        {
            // The daemon's state moves onto a 1 MiB tmpfs of its own (stopped meanwhile, so state.db is whole).
            await daemon.StopAsync();
            string saved = Directory.CreateTempSubdirectory("sy-full-save-").FullName;
            foreach (var f in Directory.GetFiles(state)) File.Move(f, Path.Combine(saved, Path.GetFileName(f)));
            Command.Run("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", state]);
            mounted = true;
            foreach (var f in Directory.GetFiles(saved)) File.Move(f, Path.Combine(state, Path.GetFileName(f)));
            Directory.Delete(saved);
            await daemon.RestartAsync();

            var net = await daemon.CreateNetworkAsync(["none"], prefix: "full", customize: r => r with { Mode = "internal" });
            using (var guest = await Guest.AttachAsync(daemon.Client, net.Name, "vm"))
            {
                string ip = guest.Endpoint.Ipv4!;

                // Fill the filesystem: dd stops at ENOSPC, in whole pages, so nothing is left.
                string fill = Path.Combine(state, "fill");
                Command.Run("dd", ["if=/dev/zero", $"of={fill}", "bs=4k"], check: false, timeoutMs: 30_000);
                Assert.Contains(" 100% ", Command.Run("df", ["-P", state]).StdOut);

                // DHCP answers from memory.
                Assert.Equal(ip, guest.Dhcp()["ip"]);
                Assert.True(guest.Ping(net.Gateway), "the guest should reach the gateway on its lease");

                // The API refuses a change it cannot store, saying why; nothing is created.
                var refused = await Assert.ThrowsAsync<SwitchyardApiException>(() => daemon.Client.CreateNetworkAsync(
                    new NetworkCreateRequest { Name = TestDaemon.UniqueName("later"), Mode = "internal", Subnet = "10.199.77.0/24" }));
                Assert.Equal(HttpStatusCode.InsufficientStorage, refused.StatusCode);
                Assert.Contains($"the state directory {state} is full", refused.Message);
                Assert.DoesNotContain(await daemon.Client.ListNetworksAsync(), n => n.Subnet == "10.199.77.0/24");
                // The lease is not stored yet: the disk refused it (the fill above is real).
                Assert.NotEqual("bound", (await daemon.Client.ListLeasesAsync(net.Name)).Single(l => l.Endpoint == "vm").State);

                // A restart while the disk is full (a crash, an upgrade) brings the network back from
                // state.db, and DHCP answers the guest again.
                await daemon.RestartAsync();
                Assert.Equal(ip, guest.Dhcp()["ip"]);
                // The stop's checkpoint may have emptied the WAL, which frees space: fill it again.
                Command.Run("dd", ["if=/dev/zero", $"of={fill}.more", "bs=4k"], check: false, timeoutMs: 30_000);
                Assert.Equal(HttpStatusCode.InsufficientStorage, (await Assert.ThrowsAsync<SwitchyardApiException>(() =>
                    daemon.Client.DetachEndpointAsync(net.Name, "vm"))).StatusCode);

                // Space returns: the writer's next retry stores the lease.
                File.Delete(fill);
                File.Delete(fill + ".more");
                await Eventually.UntilAsync(async () => (await daemon.Client.ListLeasesAsync(net.Name)).Single(l => l.Endpoint == "vm").State == "bound",
                    Bounds.Generous, () => "the lease was not stored after space returned");

                // And it outlives a restart (read back from state.db), with the guest's address.
                await daemon.RestartAsync();
                var lease = (await daemon.Client.ListLeasesAsync(net.Name)).Single(l => l.Endpoint == "vm");
                Assert.Equal("bound", lease.State);
                Assert.Equal(ip, lease.Ipv4);
                Assert.Equal(ip, guest.Dhcp()["ip"]);
            }
        }
        finally
        {
            await daemon.DisposeAsync();   // stops the daemon (state.db closed) before the unmount
            if (mounted) Command.Run("umount", [state], check: false);
            try { Directory.Delete(daemon.Directory, recursive: true); } catch (IOException) { }
        }
    }
}
