using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Scale.Web.Pages;

/// <summary>
/// The stylesheet and the script, embedded in the assembly and served from memory. Their URLs carry a hash of the
/// content, so browsers may cache them for a long time and still get a new version the moment it changes.
/// </summary>
internal static class StaticAssets
{
    private static readonly Asset Css = Load("site.css", "text/css; charset=utf-8");
    private static readonly Asset Script = Load("site.js", "text/javascript; charset=utf-8");

    public static string CssPath { get; } = "/static/site.css?v=" + Css.Hash;

    public static string ScriptPath { get; } = "/static/site.js?v=" + Script.Hash;

    public static void MapStaticAssets(this IEndpointRouteBuilder app)
    {
        app.MapGet("/static/site.css", (HttpContext context) => Serve(context, Css)).ExcludeFromDescription();
        app.MapGet("/static/site.js", (HttpContext context) => Serve(context, Script)).ExcludeFromDescription();
    }

    private static Task Serve(HttpContext context, Asset asset)
    {
        var response = context.Response;
        response.Headers.ETag = asset.ETag;
        response.Headers.CacheControl = "public, max-age=31536000, immutable";
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Bytes.Length;
        return response.Body.WriteAsync(asset.Bytes, context.RequestAborted).AsTask();
    }

    private static Asset Load(string name, string contentType)
    {
        using var stream = typeof(StaticAssets).Assembly.GetManifestResourceStream("Scale.Web.Static." + name)
            ?? throw new InvalidOperationException($"The embedded resource {name} is missing from the build.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        var bytes = memory.ToArray();
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..12];
        return new Asset(bytes, contentType, hash, "\"" + hash + "\"");
    }

    private sealed record Asset(byte[] Bytes, string ContentType, string Hash, string ETag);
}
