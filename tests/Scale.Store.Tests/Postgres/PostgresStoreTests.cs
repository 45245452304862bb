using System.Diagnostics;
using Npgsql;
using Scale.Store.Postgres;
using Scale.Store.Telemetry;
using Scale.Testing.Postgres;

namespace Scale.Store.Tests.Postgres;

/// <summary>
/// PostgreSQL's own machinery: connection strings and URIs, migrations under an advisory lock. The behaviour shared
/// with SQLite is in Contract/; replicas and failover in <see cref="PostgresFailoverTests"/>.
/// </summary>
[Collection(PostgresClusterFixture.CollectionName)]
public sealed class PostgresStoreTests(PostgresClusterFixture postgres)
{
    [Theory]
    [InlineData("Host=db;Database=scale;Username=scale")]
    [InlineData("postgres://scale@db/scale")]
    [InlineData("postgresql://db1:5432,db2:5433/scale")]
    [InlineData("host=db;database=scale")]
    public async Task Create_PostgresConnectionString_ThePostgresStoreNotYetConnected(string db)
    {
        await using var store = ScaleStoreFactory.Create(db);

        Assert.IsType<PostgresScaleStore>(store);
        Assert.StartsWith("postgres://", store.Description, StringComparison.Ordinal);
        Assert.False(File.Exists(db), "a PostgreSQL connection string was taken for a file name");
        await using var reader = ScaleStoreFactory.CreateReader(db);
        Assert.IsType<PostgresScaleReader>(Assert.IsType<InstrumentedScaleReader>(reader).Inner);
    }

    [Fact]
    public void ToConnectionString_UriWithEscapedPassword_DecodesIt()
    {
        // A generated password with an '@', which a URI must escape.
        var password = "p@" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var uri = $"postgres://scale:{Uri.EscapeDataString(password)}@h1:5432,h2:5433/lakh?sslmode=disable&target_session_attrs=read-write";
        var expected = new NpgsqlConnectionStringBuilder("Host=h1:5432,h2:5433;Username=scale;Database=lakh;SSL Mode=Disable;Target Session Attributes=read-write") { Password = password };

        var actual = new NpgsqlConnectionStringBuilder(PostgresConnections.ToConnectionString(uri));

        Assert.True(actual.EquivalentTo(expected), actual.ConnectionString);
    }

    [Theory]
    [InlineData("postgresql://db/scale", "Host=db;Database=scale")]
    [InlineData("postgres://u@db/scale?application_name=x&connect_timeout=3", "Host=db;Username=u;Database=scale;Application Name=x;Timeout=3")]
    [InlineData("Host=a;Database=b", "Host=a;Database=b")]
    public void ToConnectionString_UriWithSeveralHostsAndOptions_KeyValueForm(string uri, string expected)
    {
        var actual = new NpgsqlConnectionStringBuilder(PostgresConnections.ToConnectionString(uri));

        Assert.True(actual.EquivalentTo(new NpgsqlConnectionStringBuilder(expected)), actual.ConnectionString);
    }

    [Theory]
    [InlineData("Host=db;Database=scale", 5, 30, GssEncryptionMode.Disable, 2)]
    // Setting the command timeout leaves Scale's connect timeout alone (it used to be lost to a text search for "Timeout").
    [InlineData("Host=db;Command Timeout=60", 5, 60, GssEncryptionMode.Disable, 2)]
    [InlineData("host=db;commandtimeout=60", 5, 60, GssEncryptionMode.Disable, 2)]
    [InlineData("Host=db;Timeout=15", 15, 30, GssEncryptionMode.Disable, 2)]
    [InlineData("Host=db;TIMEOUT=9;Host Recheck Seconds=10", 9, 30, GssEncryptionMode.Disable, 10)]
    [InlineData("Host=db;gssencryptionmode=prefer", 5, 30, GssEncryptionMode.Prefer, 2)]
    [InlineData("postgres://u@db/scale?connect_timeout=3", 3, 30, GssEncryptionMode.Disable, 2)]
    public void Settings_WhatTheUserLeftOut_ScalesDefaultsAndNothingTheyWrote(string db, int timeout, int commandTimeout, GssEncryptionMode gss, int recheck)
    {
        var settings = PostgresConnections.Settings(db, "scale-test");

        Assert.Equal(timeout, settings.Timeout);
        Assert.Equal(commandTimeout, settings.CommandTimeout);
        Assert.Equal(gss, settings.GssEncryptionMode);
        Assert.Equal(recheck, settings.HostRecheckSeconds);
        Assert.Equal("scale-test", settings.ApplicationName);
    }

    [Theory]
    [InlineData("Host=db", null, 100)]
    [InlineData("Host=db", 16, 16)]
    [InlineData("Host=db;Maximum Pool Size=40", 16, 40)]
    [InlineData("host=db;maxpoolsize=7", 16, 7)]
    [InlineData("postgres://u@db/scale", 16, 16)]
    public void Settings_PoolBound_ScalesUnlessTheUserWroteOne(string db, int? bound, int expected) =>
        Assert.Equal(expected, PostgresConnections.Settings(db, "scale-test", bound).MaxPoolSize);

    [Theory]
    [InlineData("Host=db", 20)]
    [InlineData("Host=db;Max Auto Prepare=0", 0)]
    [InlineData("host=db;maxautoprepare=5", 5)]
    public void Settings_AutoPrepare_ScalesUnlessTheUserWroteOne(string db, int expected) =>
        Assert.Equal(expected, PostgresConnections.Settings(db, "scale-test").MaxAutoPrepare);

    [Theory]
    [InlineData("Host=db", false, false)]
    [InlineData("Host=db", true, true)]
    [InlineData("Host=db;No Reset On Close=false", true, false)]
    [InlineData("host=db;noresetonclose=true", false, true)]
    public void Settings_NoResetOnClose_OnlyForCallersWithoutSessionState(string db, bool sessionStateFree, bool expected) =>
        Assert.Equal(expected, PostgresConnections.Settings(db, "scale-test", sessionStateFree: sessionStateFree).NoResetOnClose);

    [Fact]
    public void GivenKeywords_Synonyms_NpgsqlsCanonicalKeywords()
    {
        var given = PostgresConnections.GivenKeywords("host=db;commandtimeout=60;GssEncryptionMode=Disable;Application Name=x");

        Assert.Equal(["Application Name", "Command Timeout", "GSS Encryption Mode", "Host"], given.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Description_MultiHost_NamesHostsAndDatabaseWithoutCredentials()
    {
        await using var database = await postgres.CreateDatabaseAsync();
        await using var store = await ScaleStoreFactory.OpenAsync(database.MultiHostConnectionString(), null, CancellationToken.None);

        var cluster = database.Cluster;
        Assert.Equal($"postgres://{cluster.Primary.HostAndPort},{cluster.Replicas[0].HostAndPort}/{database.Name}", store.Description);
        Assert.DoesNotContain(cluster.Password, store.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_AnotherSessionHoldsTheMigrationLock_WaitsThenMigratesOnce()
    {
        await using var database = await postgres.CreateDatabaseAsync();
        await using var holder = new NpgsqlConnection(database.PrimaryConnectionString);
        await holder.OpenAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({PostgresSchema.MigrationLock})", holder))
        {
            await take.ExecuteNonQueryAsync();
        }

        var clock = Stopwatch.StartNew();
        var open = ScaleStoreFactory.OpenAsync(database.MultiHostConnectionString(), null, CancellationToken.None);
        await Task.Delay(1500);
        Assert.False(open.IsCompleted, "the store migrated while another session held the migration lock");
        Assert.Equal(0L, await ScalarAsync(database, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'songs'"));
        await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({PostgresSchema.MigrationLock})", holder))
        {
            await release.ExecuteNonQueryAsync();
        }

        await using var store = await open;
        Assert.True(clock.Elapsed > TimeSpan.FromSeconds(1.4));
        Assert.Equal(PostgresSchema.LatestVersion, await ScalarAsync(database, "SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task Open_BadPassword_FailsAtOnceWithTheServersError()
    {
        await using var database = await postgres.CreateDatabaseAsync();
        var wrong = new NpgsqlConnectionStringBuilder(database.MultiHostConnectionString()) { Password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)) }.ConnectionString;
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => ScaleStoreFactory.OpenAsync(wrong, null, CancellationToken.None));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"a wrong password took {clock.Elapsed} (retried as if transient)");
        Assert.Contains("password", error.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Open_DatabaseOnlyOnThePrimaryConnectionString_Works()
    {
        await using var database = await postgres.CreateDatabaseAsync();

        await using var store = await ScaleStoreFactory.OpenAsync(database.PrimaryConnectionString, null, CancellationToken.None);
        var run = await store.BeginRunAsync("folder:/x", CancellationToken.None);
        await store.WriteBatchAsync(run, [Fake.Song("a.mid", 1)], CancellationToken.None);
        await using var reader = ScaleStoreFactory.CreateReader(database.PrimaryConnectionString);

        Assert.Equal("a", (await reader.GetSongAsync(Fake.Md5("a.mid"), CancellationToken.None))!.Name);
    }

    private static async Task<long> ScalarAsync(PostgresTestDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.PrimaryConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
