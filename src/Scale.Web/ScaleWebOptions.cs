using Microsoft.AspNetCore.Builder;
using Scale.Store;

namespace Scale.Web;

/// <summary>Settings of the web app (<see cref="ScaleWebApp.Build"/>).</summary>
public sealed record ScaleWebOptions
{
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>The store: a SQLite file path or connection string (see <see cref="ScaleStoreFactory.CreateReader"/>).</summary>
    public string Database { get; init; } = "scale.db";

    /// <summary>Where Kestrel listens, ";"-separated; null leaves it to configuration (ASPNETCORE_URLS).</summary>
    public string? Urls { get; init; } = DefaultUrls;

    /// <summary>How often the store's data version is polled; a new version reloads the catalogue in the background.</summary>
    public TimeSpan CatalogRefreshInterval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Makes the reader; null means <see cref="ScaleStoreFactory.CreateReader"/> on <see cref="Database"/>.</summary>
    public Func<IScaleReader>? ReaderFactory { get; init; }

    /// <summary>Last word on the builder before it builds (tests swap Kestrel for the in-memory test server here).</summary>
    public Action<WebApplicationBuilder>? ConfigureBuilder { get; init; }

    /// <summary>Production unless told otherwise: error responses never carry exception details.</summary>
    public string EnvironmentName { get; init; } = "Production";
}
