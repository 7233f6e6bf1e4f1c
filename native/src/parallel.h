/*
 * OpenMP pragmas that vanish in a build without OpenMP (the build without oneDNN): the kernels
 * then run on the calling thread alone, as before.
 */
#ifndef OTOC_PARALLEL_H
#define OTOC_PARALLEL_H

#ifdef _OPENMP
#define OMP(directive) _Pragma(#directive)
#else
#define OMP(directive)
#endif

#endif
