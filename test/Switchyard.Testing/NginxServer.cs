namespace Switchyard.Testing;

/// <summary>
/// nginx in a namespace serving a directory on one TCP port: one process (`master_process off`, `daemon off`), so
/// killing its PID ends it; its configuration, pid file, logs and temp paths all in a scratch directory the server
/// owns, nothing from /etc/nginx. Start returns once the port listens; Dispose kills it and deletes the scratch.
/// </summary>
public sealed class NginxServer : IDisposable
{
    private readonly ChildProcess _process;
    private readonly string _scratch;

    private NginxServer(ChildProcess process, string scratch, int port)
    {
        _process = process;
        _scratch = scratch;
        Port = port;
    }

    public int Port { get; }
    public int Pid => _process.Pid;

    /// <summary>Serves <paramref name="root"/> (which must be readable by root) on 0.0.0.0:<paramref name="port"/> inside <paramref name="ns"/>.</summary>
    public static NginxServer Start(TestNamespace ns, string root, int port = 80) =>
        StartWithServers(ns, $$"""
            server {
                listen {{port}} backlog=4096;
                root {{root}};
            }
            """, [port]);

    /// <summary>nginx with the given <c>server { ... }</c> blocks (the caller's listen directives, certificates and
    /// roots) inside the same scratch-only <c>http { }</c> frame; returns once every port in <paramref name="ports"/> listens.</summary>
    public static NginxServer StartWithServers(TestNamespace ns, string servers, IReadOnlyList<int> ports)
    {
        string scratch = Directory.CreateTempSubdirectory("sy-nginx-").FullName;
        ChildProcess? process = null;
        try
        {
            string conf = Path.Combine(scratch, "nginx.conf");
            File.WriteAllText(conf, $$"""
                user root;
                worker_processes 1;
                master_process off;
                daemon off;
                pid {{scratch}}/nginx.pid;
                error_log stderr warn;
                worker_rlimit_nofile 8192;
                events { worker_connections 4096; }
                http {
                    access_log off;
                    sendfile on;
                    default_type application/octet-stream;
                    client_body_temp_path {{scratch}}/body;
                    proxy_temp_path {{scratch}}/proxy;
                    fastcgi_temp_path {{scratch}}/fastcgi;
                    uwsgi_temp_path {{scratch}}/uwsgi;
                    scgi_temp_path {{scratch}}/scgi;
                {{servers}}
                }
                """);
            process = ns.StartServer("nginx", "-e", "stderr", "-p", scratch, "-c", conf);
            ns.WaitForListening(ports, [], TimeSpan.FromSeconds(15), process);
            return new NginxServer(process, scratch, ports[0]);
        }
        catch
        {
            process?.Dispose();
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    public void Dispose()
    {
        _process.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }
}
