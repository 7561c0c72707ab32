/**
 * Hubs starting at the same moment on one database upsert the same documents at once. MongoDB
 * retries such upserts itself only in some cases, FerretDB never: the loser gets E11000 although
 * the document it wanted is there. The write is repeated, and then finds the document.
 */
export async function retryOnDuplicate<T>(op: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await op();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 11000 || i >= attempts) throw error;
    }
  }
}
