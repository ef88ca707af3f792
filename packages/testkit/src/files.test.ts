import { createMemoryFiles, describeFilesCompliance } from './files.js';

describeFilesCompliance('in-memory twin', () => {
  const files = createMemoryFiles();
  return { files, mode: (p) => files.entries.get(p)?.mode };
});
