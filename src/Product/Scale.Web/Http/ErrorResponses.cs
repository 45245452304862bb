using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Scale.Store;
using Scale.Web.Catalog;
using Scale.Web.Pages;

namespace Scale.Web.Http;

/// <summary>
/// Bodies for errors that no endpoint wrote (unknown paths, wrong methods, exceptions): problem details JSON for the
/// API and for clients that do not ask for HTML, a page for browsers. Never exception details.
/// </summary>
internal static class ErrorResponses
{
    public static Task WriteStatusPageAsync(StatusCodeContext context) =>
        WriteAsync(context.HttpContext, MessageFor(context.HttpContext.Response.StatusCode));

    public static Task WriteExceptionAsync(HttpContext context)
    {
        var status = context.Response.StatusCode;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "5";
            return WriteAsync(context, "The database is not reachable right now. Try again in a few seconds.");
        }

        return WriteAsync(context, status >= 500
            ? "The server could not answer this request. It has been logged; try again later."
            : MessageFor(status));
    }

    /// <summary>
    /// An exception's status: a malformed or oversized request is the client's (400, 413, ...), a database that no
    /// server of answers is temporary (503), the rest 500.
    /// </summary>
    public static int StatusCodeOf(Exception exception) => exception switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        StoreUnavailableException => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    private static string MessageFor(int status) => status switch
    {
        StatusCodes.Status404NotFound => "There is nothing at this address.",
        StatusCodes.Status405MethodNotAllowed => "This address does not take that method.",
        StatusCodes.Status413PayloadTooLarge => "The request body is too large.",
        StatusCodes.Status400BadRequest => "The request could not be understood.",
        _ => "The request could not be answered.",
    };

    private static async Task WriteAsync(HttpContext context, string message)
    {
        var status = context.Response.StatusCode;
        if (WantsHtml(context.Request))
        {
            var snapshot = context.RequestServices.GetService<CatalogProvider>()?.Latest;
            await PageEndpoints.ErrorPage(snapshot, status, message).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = ReasonPhrases.GetReasonPhrase(status), Detail = message },
        }).ConfigureAwait(false);
    }

    /// <summary>Browsers ask for text/html; API clients, curl and load tools do not, and get JSON.</summary>
    private static bool WantsHtml(HttpRequest request) =>
        !request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
}
