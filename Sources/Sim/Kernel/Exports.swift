// The kernel's users sample distributions and draw from seeded streams all the time; they get
// `Sampling` with the kernel instead of importing both.
@_exported import Sampling
