// NOTE TO OTHER ENGINEERS: the lead engineer is writing src/Scale.Pipeline and tests/Scale.Pipeline.Tests now
// (10:02). Do not create or edit files in these two folders; finish the store and report instead.
namespace Scale.Pipeline;
