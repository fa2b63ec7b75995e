// Imported first by the entry point, before anything touches the file system: every write, sync,
// rename and open runs on libuv's thread pool, whose default of 4 threads lets a few slow fsyncs
// stall every other upload. It is sized once, when first used, from UV_THREADPOOL_SIZE.
process.env.UV_THREADPOOL_SIZE ??= '64';
