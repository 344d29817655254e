/* The acorn version this header set belongs to. C and C++. The one place the version is written:
 * CMakeLists.txt reads it from here for project(VERSION), the library's soname and the package.
 * acorn_version() (acorn.h) gives the version of the library actually linked. */
#ifndef ACORN_VERSION_H_
#define ACORN_VERSION_H_

#define ACORN_VERSION_MAJOR 0
#define ACORN_VERSION_MINOR 1
#define ACORN_VERSION_PATCH 0
#define ACORN_VERSION_STRING "0.1.0"

#endif /* ACORN_VERSION_H_ */
