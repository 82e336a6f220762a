/* The benchmark's no-op child: linked statically so the spawn path, not the
   dynamic loader, dominates what is measured. */
int main(void) { return 0; }
