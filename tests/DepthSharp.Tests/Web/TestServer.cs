using DepthSharp.Web;
using Microsoft.AspNetCore.Builder;

namespace DepthSharp.Tests.Web;

/// <summary>A DepthServer on a free local port and a client for it, disposed together.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    /// <summary>The client, its base address the server's.</summary>
    public HttpClient Client { get; }

    private TestServer(WebApplication app)
    {
        _app = app;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Builds and starts a server for <paramref name="model"/>, shown as <paramref name="name"/>.</summary>
    public static async Task<TestServer> StartAsync(string model, string name, ServeOptions options)
    {
        var app = DepthServer.Build(o => o.Model = model, name, options, "http://127.0.0.1:0");
        await app.StartAsync();
        return new TestServer(app);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }
}
