# The two commands of the README, and a few helpers. The real build is CMake (CMakeLists.txt).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test demo sanitize install deb clean

all: build

deps:
	@bash scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# Every test through ctest; non-zero exit on any failure.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# PostgreSQL + simulators + gateway in the foreground; Ctrl-C stops all of it.
# HSM=1: the signing key in a SoftHSM2 token (docs/signing.md, "Key custody").
demo: build
	@bash scripts/demo --build $(BUILD) $(if $(filter 1,$(HSM)),--hsm)

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DENABLE_SANITIZERS=ON -DCMAKE_BUILD_TYPE=Debug"

# Install under PREFIX (default the build's, /usr/local); DESTDIR is honoured. docs/operator-guide.md
PREFIX ?=
install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

# The Debian package, in $(BUILD)/ (cmake/PidePackage.cmake).
deb: build
	cd $(BUILD) && cpack

clean:
	rm -rf $(BUILD) build-asan
