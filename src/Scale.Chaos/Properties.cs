// The lab target drives Linux processes, cgroups and /proc; experiments run where the lab or kubectl does.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
