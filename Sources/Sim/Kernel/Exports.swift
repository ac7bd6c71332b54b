// The kernel's users sample distributions and draw from seeded streams all the time; they get
// `Sampling` with the kernel instead of importing both.
@_exported import Sampling
// The network model moved below both drivers (the live fault proxy decides with it too); the
// kernel's users keep getting it with the kernel.
@_exported import Links
