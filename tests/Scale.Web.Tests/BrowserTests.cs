using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using Scale.Midi;
using Scale.Web.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Scale.Web.Tests;

/// <summary>
/// A person's path through the app in a real headless Chromium (Debian's, driven by Playwright) against the app on
/// Kestrel at 127.0.0.1: pick an instrument on the home page, open a song, see its similar songs with the shared
/// instruments highlighted. Saves a screenshot under artifacts/test-screenshots/.
/// </summary>
[Collection(SharedSite.Name)]
public class BrowserTests(SiteFixture site, ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task PickInstrument_OpenSong_SeeSimilarSongsWithSharedInstrumentsHighlighted()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium (apt-get install -y chromium); tests/run does this as root.");
        var (id, similar) = site.Store.Similar.Where(p => p.Value.Count > 1).OrderBy(p => p.Key, StringComparer.Ordinal).First();
        var song = site.Store.Song(id);
        var instrument = song.Instruments[0];

        var app = ScaleWebApp.Build(new ScaleWebOptions
        {
            Database = site.Store.DbPath,
            Urls = "http://127.0.0.1:0",
            ConfigureBuilder = builder => builder.Logging.SetMinimumLevel(LogLevel.Warning),
        });
        await using (app)
        {
            await app.StartAsync();
            try
            {
                var baseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
                using var playwright = await Playwright.CreateAsync();
                await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true });
                var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
                var consoleErrors = new List<string>();
                page.Console += (_, message) =>
                {
                    if (message.Type == "error")
                    {
                        consoleErrors.Add(message.Text);
                    }
                };

                await page.GotoAsync(baseUrl + "/");

                // The script shows the finder and narrows the checkboxes; then the person ticks the instrument.
                var finder = page.Locator("#instrument-finder");
                await finder.FillAsync(GeneralMidi.InstrumentName(instrument));
                await Assertions.Expect(page.Locator("fieldset.family:visible")).Not.ToHaveCountAsync(17);
                await page.GetByLabel(GeneralMidi.InstrumentName(instrument), new() { Exact = false })
                    .And(page.Locator($"input[value=\"{instrument}\"]")).CheckAsync();
                await page.Locator("input[name=q]").FillAsync(song.Name);
                await page.GetByRole(AriaRole.Button, new() { Name = "Show songs" }).ClickAsync();

                await page.WaitForURLAsync(url => url.Contains("instrument=" + instrument, StringComparison.Ordinal));
                await page.ScreenshotAsync(new() { Path = Path.Combine(ArtifactsFolder(), "home-page-results.png"), FullPage = true });
                await page.Locator($"a.song[href=\"/songs/{id}\"]").ClickAsync();

                await page.WaitForURLAsync(url => url.EndsWith("/songs/" + id, StringComparison.Ordinal));
                await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync(song.Name);
                var rows = page.Locator("table.similar tbody tr");
                await Assertions.Expect(rows).ToHaveCountAsync(Math.Min(similar.Count, StoreFixture.Settings.TopK));
                var firstRowMarks = await rows.First.Locator("mark.shared").AllInnerTextsAsync();
                var firstOther = site.Store.Song(similar[0].Id);
                Assert.Equal(
                    song.Instruments.Intersect(firstOther.Instruments).Select(GeneralMidi.InstrumentName).Order(StringComparer.Ordinal),
                    firstRowMarks.Order(StringComparer.Ordinal));
                // The stylesheet loaded under the strict CSP: the highlight is really painted.
                var background = await rows.First.Locator("mark.shared").First.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor");
                Assert.Equal("rgb(255, 226, 138)", background);

                var screenshot = Path.Combine(ArtifactsFolder(), "song-page-similar-songs.png");
                await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
                output.WriteLine($"screenshot: {screenshot}");

                // The charts page renders its SVG without script or external assets.
                await page.GotoAsync(baseUrl + "/instruments");
                await Assertions.Expect(page.Locator("svg.bars rect.bar")).ToHaveCountAsync(GeneralMidi.InstrumentCount);
                await page.ScreenshotAsync(new() { Path = Path.Combine(ArtifactsFolder(), "instruments-page.png"), FullPage = false });
                Assert.Empty(consoleErrors);
            }
            finally
            {
                await app.StopAsync();
            }
        }
    }

    /// <summary>artifacts/test-screenshots under the repository root (found by Scale.slnx), else under the test output.</summary>
    private static string ArtifactsFolder()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Scale.slnx")))
        {
            folder = folder.Parent;
        }

        var path = Path.Combine(folder?.FullName ?? AppContext.BaseDirectory, "artifacts", "test-screenshots");
        Directory.CreateDirectory(path);
        return path;
    }
}
