using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DepthSharp.Tests.Web;

/// <summary>
/// A private redis-server (Debian's; .ci/run installs it) on a free loopback port, without persistence, stopped when
/// disposed: the shared store that several DepthServers in one test share as replicas do.
/// </summary>
internal sealed class RedisServer : IDisposable
{
    private readonly Process _process;

    /// <summary>host:port, as --redis takes it.</summary>
    public string Endpoint { get; }

    private RedisServer(Process process, string endpoint)
    {
        _process = process;
        Endpoint = endpoint;
    }

    /// <summary>Starts one and waits until it answers PING.</summary>
    public static async Task<RedisServer> StartAsync()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var psi = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--bind", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no" })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        // Drained so a chatty server never blocks on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        var server = new RedisServer(process, $"127.0.0.1:{port}");
        for (int attempt = 0; attempt < 100; attempt++)
        {
            if (process.HasExited) break;
            if (await Pings(port)) return server;
            await Task.Delay(100);
        }
        server.Dispose();
        throw new InvalidOperationException($"redis-server on port {port} did not answer PING");
    }

    private static async Task<bool> Pings(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            int n = await stream.ReadAsync(buffer);
            return System.Text.Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException) { return false; }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
    }
}
