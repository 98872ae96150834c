namespace AnnServer.Core.Payloads;

/// <summary>One named field of a point's payload.</summary>
public readonly record struct PayloadField(string Name, PayloadValue Value);
