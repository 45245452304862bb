# syntax=docker/dockerfile:1
# One image for every role of Scale: the argument is the command (serve | extract | similar | db migrate | run ...).
#   docker run --rm -p 8080:8080 -e SCALE_DB="$SCALE_DB" scale:dev serve      (SCALE_DB: a PostgreSQL connection string)
# Built by deploy/image/build.sh (multi-arch with buildx). Runs as a non-root user on a read-only root filesystem:
# nothing is written outside the mounted /data (SQLite) and /tmp. No secret is baked in: the database and S3
# credentials come from the environment at run time.

# Pinned: the SDK and runtime these were tested with (bump both together; see docs/deploy.md).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0.401-noble
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0.12-noble-chiseled

FROM --platform=$BUILDPLATFORM ${SDK_IMAGE} AS build
ARG TARGETARCH
# The commit goes into the version the metrics report (scale_build_info); the build context has no .git.
ARG SCALE_COMMIT=unknown
WORKDIR /src
# Restore first, from the project files only, so a code change does not download packages again.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Directory.Build.props src/
COPY src/Scale.Chaos/Scale.Chaos.csproj src/Scale.Chaos/
COPY src/Product/Scale.Cli/Scale.Cli.csproj src/Product/Scale.Cli/
COPY src/Product/Scale.Corpus/Scale.Corpus.csproj src/Product/Scale.Corpus/
COPY src/Scale.Lab/Scale.Lab.csproj src/Scale.Lab/
COPY src/Scale.Load/Scale.Load.csproj src/Scale.Load/
COPY src/Product/Scale.Midi/Scale.Midi.csproj src/Product/Scale.Midi/
COPY src/Product/Scale.Pipeline/Scale.Pipeline.csproj src/Product/Scale.Pipeline/
COPY src/Product/Scale.Similarity/Scale.Similarity.csproj src/Product/Scale.Similarity/
COPY src/Product/Scale.Store/Scale.Store.csproj src/Product/Scale.Store/
COPY src/Scale.Synth/Scale.Synth.csproj src/Scale.Synth/
COPY src/Product/Scale.Web/Scale.Web.csproj src/Product/Scale.Web/
RUN dotnet restore src/Product/Scale.Cli/Scale.Cli.csproj -a "$TARGETARCH"
COPY deploy/monitoring/ deploy/monitoring/
COPY src/ src/
RUN dotnet publish src/Product/Scale.Cli/Scale.Cli.csproj -c Release -a "$TARGETARCH" --no-restore --self-contained false \
      -p:UseAppHost=false -p:SourceRevisionId="$SCALE_COMMIT" -o /app

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /app ./
# Chiseled images have no shell and no package manager; 1654 is their unprivileged "app" user.
USER 1654:1654
# DOTNET_EnableDiagnostics=0: no diagnostics IPC socket in /tmp, as the root filesystem is read-only.
ENV SCALE_URLS=http://0.0.0.0:8080 \
    SCALE_DB=/data/scale.db \
    SCALE_LOG_FORMAT=json \
    DOTNET_EnableDiagnostics=0 \
    DOTNET_NOLOGO=1
VOLUME ["/data"]
# 8080: the web app; 9464: the batch job's /metrics (--metrics-urls http://0.0.0.0:9464).
EXPOSE 8080 9464
ENTRYPOINT ["dotnet", "/app/scale.dll"]
CMD ["serve"]
