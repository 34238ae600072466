/**
 * A seeded uniform [0, 1) source (mulberry32), so a randomized test can be replayed from the seed it
 * prints or fixes: the one the tools' doubles and the soak use.
 */
export { seededRandom } from '../../tools/doubles/seeded-random.js';
